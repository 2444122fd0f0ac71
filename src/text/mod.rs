//! Text written for people: format=flowed mail bodies, human local times, clean link lists.

pub mod flowed;
pub mod links;
pub mod when;
