-- A new report's text for the similar-case scorer is, almost always, the start of its
-- message's row in the full-text index: such a report keeps only that row's id here
-- (text ''), not a second copy of the text. Earlier rows keep their text (index_row NULL).
ALTER TABLE report_text ADD COLUMN index_row INTEGER;
