//! A checked reader of OLE compound files, the container of an .xls workbook. calamine's
//! own reader follows sector chains without loop checks; this one follows them the same
//! way but refuses any chain that loops or leaves the file. An .xls is small by the format
//! itself (65,536 rows at most), so it is read whole.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

pub(super) const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

pub(super) fn read_all(file: &mut File) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(0))?;
    let mut data = Vec::new();
    file.read_to_end(&mut data)?;
    Ok(data)
}

/// A read-only view of an OLE compound file that follows its chains the way calamine's
/// reader does, but refuses every chain that loops, leaves the file or would make calamine
/// index out of bounds.
pub(super) struct Ole {
    sector_size: usize,
    header_len: usize,
    maxid: u64,
    fats: Vec<u32>,
    dirs: Vec<(String, u32, u64)>,
    mini_fats: Vec<u32>,
    mini_stream: Vec<u8>,
}

pub(super) const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;

pub(super) fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

pub(super) fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl Ole {
    pub(super) fn parse(data: &[u8]) -> Result<Ole, String> {
        let header = data
            .get(..512)
            .ok_or("the file is shorter than its header")?;
        if !header.starts_with(OLE_MAGIC) {
            return Err("not an OLE compound file".into());
        }
        let version = le16(header, 26).unwrap_or(0);
        let (sector_size, header_len) = match le16(header, 30) {
            Some(0x0009) => (512usize, 512usize),
            Some(0x000C) => (4096, 4096),
            _ => return Err("bad sector size".into()),
        };
        if data.len() < header_len {
            return Err("the file is shorter than its header".into());
        }
        if le16(header, 32) != Some(6) {
            return Err("bad mini sector size".into());
        }
        let field = |at| le32(header, at).ok_or_else(|| "short header".to_owned());
        let dir_start = field(48)?;
        let mini_fat_start = field(60)?;
        let mini_fat_len = u64::from(field(64)?);
        let difat_start = field(68)?;
        let mut ole = Ole {
            sector_size,
            header_len,
            // calamine: `len / sector_size`, the header included.
            maxid: (data.len() / sector_size) as u64,
            fats: Vec::new(),
            dirs: Vec::new(),
            mini_fats: Vec::new(),
            mini_stream: Vec::new(),
        };
        let mut difat: Vec<u32> = u32s(header.get(76..512).unwrap_or_default()).collect();
        let mut sector_id = difat_start;
        let mut steps = 0u64;
        while sector_id < RESERVED_SECTORS {
            steps += 1;
            if steps > ole.maxid + 1 {
                return Err("the DIFAT chain loops".into());
            }
            difat.extend(u32s(ole.full_sector(data, sector_id)?));
            sector_id = difat.pop().ok_or("empty DIFAT sector")?;
        }
        for id in difat.into_iter().filter(|id| *id < DIFSECT) {
            let sector = ole.full_sector(data, id)?;
            ole.fats.extend(u32s(sector));
        }
        let dir_bytes = ole.chain(data, dir_start, u64::MAX, false)?;
        ole.dirs = dir_bytes
            .chunks_exact(128)
            .map(|d| {
                let name: String = char::decode_utf16(
                    d.get(..64)
                        .unwrap_or_default()
                        .chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]])),
                )
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .take_while(|c| *c != '\0')
                .collect();
                let start = le32(d, 116).unwrap_or(ENDOFCHAIN);
                let len = if sector_size == 512 {
                    u64::from(le32(d, 120).unwrap_or(0))
                } else {
                    le64(d, 120).unwrap_or(0)
                };
                (name, start, len)
            })
            .collect();
        let Some(&(_, root_start, root_len)) = ole.dirs.first() else {
            return Err("no root directory".into());
        };
        if version != 3 && root_start == ENDOFCHAIN {
            return Err("no root directory".into());
        }
        if mini_fat_len > 0 {
            ole.mini_stream = ole.chain(data, root_start, root_len, false)?;
            let mini_fat = ole.chain(
                data,
                mini_fat_start,
                mini_fat_len.saturating_mul(sector_size as u64),
                true,
            )?;
            ole.mini_fats = u32s(&mini_fat).collect();
        }
        Ok(ole)
    }

    /// Sector `id`: calamine refuses ids past `maxid` and panics on a sector starting past
    /// the end of the file; a partial last sector it reads short.
    fn sector<'d>(&self, data: &'d [u8], id: u32) -> Result<&'d [u8], String> {
        if u64::from(id) > self.maxid {
            return Err(format!("sector {id} is past the end of the file"));
        }
        let body = data.get(self.header_len..).unwrap_or_default();
        let start = (id as usize).saturating_mul(self.sector_size);
        if start > body.len() {
            return Err(format!("sector {id} is past the end of the file"));
        }
        let end = start.saturating_add(self.sector_size).min(body.len());
        Ok(body.get(start..end).unwrap_or_default())
    }

    fn full_sector<'d>(&self, data: &'d [u8], id: u32) -> Result<&'d [u8], String> {
        let s = self.sector(data, id)?;
        if s.len() != self.sector_size {
            return Err(format!("sector {id} is cut short"));
        }
        Ok(s)
    }

    /// The chain from `start`, as calamine's `get_chain` reads it (stopping at `len` bytes),
    /// refusing loops and FAT indexes out of range. `full` sectors are required where
    /// calamine would panic on a short one.
    fn chain(&self, data: &[u8], start: u32, len: u64, full: bool) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut id = start;
        while id != ENDOFCHAIN {
            if !seen.insert(id) {
                return Err("a sector chain loops".into());
            }
            let sector = if full {
                self.full_sector(data, id)?
            } else {
                self.sector(data, id)?
            };
            let remaining =
                usize::try_from(len.saturating_sub(out.len() as u64)).unwrap_or(usize::MAX);
            out.extend_from_slice(
                sector
                    .get(..sector.len().min(remaining))
                    .unwrap_or_default(),
            );
            if out.len() as u64 >= len {
                break;
            }
            id = *self
                .fats
                .get(id as usize)
                .ok_or_else(|| format!("sector {id} is not in the FAT"))?;
        }
        Ok(out)
    }

    pub(super) fn find(&self, name: &str) -> Option<&(String, u32, u64)> {
        self.dirs
            .iter()
            .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
    }

    /// A stream by name (outer error: no such stream; inner: it cannot be read safely).
    pub(super) fn stream(&self, data: &[u8], name: &str) -> Result<Result<Vec<u8>, String>, ()> {
        let &(_, start, len) = self.find(name).ok_or(())?;
        if len >= 4096 {
            return Ok(self.chain(data, start, len, false));
        }
        // Mini stream: 64-byte sectors in `mini_stream`. calamine reads past its end from
        // the file, so every sector must lie inside it.
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut id = start;
        while id != ENDOFCHAIN {
            if !seen.insert(id) {
                return Ok(Err("a mini sector chain loops".into()));
            }
            let from = (id as usize).saturating_mul(64);
            let Some(sector) = self.mini_stream.get(from..from.saturating_add(64)) else {
                return Ok(Err(format!("mini sector {id} is outside the mini stream")));
            };
            let remaining = usize::try_from(len.saturating_sub(out.len() as u64)).unwrap_or(0);
            out.extend_from_slice(sector.get(..64.min(remaining)).unwrap_or_default());
            if out.len() as u64 >= len {
                break;
            }
            let Some(&next) = self.mini_fats.get(id as usize) else {
                return Ok(Err(format!("mini sector {id} is not in the mini FAT")));
            };
            id = next;
        }
        Ok(Ok(out))
    }
}
