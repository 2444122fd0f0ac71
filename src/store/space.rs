//! Free space on the file system that holds the database: a full disk stops intake, and
//! the daemon cannot write that down in the very database that is full, so `status` looks.

use std::path::Path;

/// Below this much free space `status` calls the database unhealthy: one large message
/// (raw bytes, WAL frame and checkpoint copy) no longer fits for sure.
pub const LOW_SPACE_BYTES: u64 = 16 * 1024 * 1024;

/// Bytes available to this (unprivileged) process on the file system holding `path`.
pub fn available_bytes(path: &Path) -> std::io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` points to writable memory of the
    // right type; statvfs writes it fully when it returns 0.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: initialised by the successful call above.
    let st = unsafe { st.assume_init() };
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The health problem, if the disk under the database is (nearly) full.
pub fn low_space_problem(available: u64) -> Option<String> {
    (available < LOW_SPACE_BYTES).then(|| {
        format!(
            "disk nearly full: {} KiB free where the database lives (intake stops when a message no longer fits)",
            available / 1024
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temp_dir_has_space_and_a_full_disk_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let free = available_bytes(&dir.path().join("x.db")).unwrap();
        assert!(free > 0);
        assert!(low_space_problem(0).unwrap().contains("disk nearly full"));
        assert!(low_space_problem(LOW_SPACE_BYTES).is_none());
    }

    #[test]
    fn a_missing_directory_is_an_error_not_a_panic() {
        assert!(available_bytes(Path::new("/no/such/dir/x.db")).is_err());
    }
}
