//! 导入客户 / 导入联系人 (issue 4). Built so far: the first look at an uploaded CSV —
//! encoding detection and header-to-field suggestions ([`sniff`]). The upload, mapping,
//! preview, background run (COPY into staging, chunked set-based merge), progress,
//! cancel, undo and error report are still to come.

pub mod read;
pub mod sniff;
