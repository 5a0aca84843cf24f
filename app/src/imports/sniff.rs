//! The first look at an uploaded CSV: which encoding Chinese Excel (or anyone) wrote it
//! in, and which Kehu field each header most likely means.
//!
//! Encodings: UTF-8 with a BOM, UTF-8, or GB18030 (a superset of GBK, which is what
//! Chinese Excel writes as "CSV"). A file whose lines are partly UTF-8 and partly GBK is
//! refused rather than half-garbled.

use encoding_rs::{GB18030, UTF_8};

/// How a CSV file's bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 starting with a byte-order mark.
    Utf8Bom,
    /// UTF-8.
    Utf8,
    /// GB18030 (includes GBK and GB2312).
    Gb18030,
}

impl Encoding {
    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8Bom => "UTF-8 (BOM)",
            Self::Utf8 => "UTF-8",
            Self::Gb18030 => "GBK / GB18030",
        }
    }
}

/// Why a CSV's bytes cannot be read as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SniffError {
    /// Some lines are UTF-8 and others are not: two encodings in one file.
    MixedEncodings {
        /// 1-based number of the first line that is not UTF-8.
        line: usize,
    },
    /// Neither UTF-8 nor GB18030.
    Undecodable {
        /// 1-based number of the first line that does not decode.
        line: usize,
    },
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Detects the encoding of `bytes` (a whole file or a large enough prefix of it). A
/// prefix may end inside a character; that last incomplete sequence is ignored.
pub fn detect(bytes: &[u8]) -> Result<Encoding, SniffError> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return match first_bad_utf8_line(rest) {
            None => Ok(Encoding::Utf8Bom),
            Some(line) => Err(SniffError::MixedEncodings { line }),
        };
    }
    let Some(bad_line) = first_bad_utf8_line(bytes) else {
        return Ok(Encoding::Utf8);
    };
    // Not UTF-8. If some other line holds non-ASCII UTF-8, the file mixes encodings
    // (GB18030 would "decode" those lines into nonsense without complaint).
    let count = bytes.split(|b| *b == b'\n').count();
    let mixed = bytes.split(|b| *b == b'\n').enumerate().any(|(i, line)| {
        // Only the last line may be cut short (a prefix of the file).
        let line = if i + 1 == count {
            trim_partial(line)
        } else {
            line
        };
        !line.is_ascii() && std::str::from_utf8(line).is_ok()
    });
    if mixed {
        return Err(SniffError::MixedEncodings { line: bad_line });
    }
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let (_, had_errors) = GB18030.decode_without_bom_handling(line);
        if had_errors {
            return Err(SniffError::Undecodable { line: i + 1 });
        }
    }
    Ok(Encoding::Gb18030)
}

/// Decodes `bytes` in `encoding` to text (without the BOM).
pub fn decode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Utf8Bom => UTF_8
            .decode_without_bom_handling(bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes))
            .0
            .into_owned(),
        Encoding::Utf8 => UTF_8.decode_without_bom_handling(bytes).0.into_owned(),
        Encoding::Gb18030 => GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// The 1-based number of the first line that is not valid UTF-8 (an incomplete sequence
/// at the very end is allowed: the bytes may be a prefix).
fn first_bad_utf8_line(bytes: &[u8]) -> Option<usize> {
    let mut lines = bytes.split(|b| *b == b'\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let last = lines.peek().is_none();
        let line = if last { trim_partial(line) } else { line };
        if std::str::from_utf8(line).is_err() {
            return Some(i + 1);
        }
    }
    None
}

/// `bytes` without a trailing incomplete UTF-8 sequence.
fn trim_partial(bytes: &[u8]) -> &[u8] {
    match std::str::from_utf8(bytes) {
        Err(e) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    }
}

/// The built-in fields a header can map to, with the header names (Chinese and English)
/// that mean them: (field, entity, names). Matching ignores case, spaces and punctuation.
pub const HEADER_NAMES: [(&str, &str, &[&str]); 20] = [
    (
        "name",
        "company",
        &[
            "公司名称",
            "客户名称",
            "公司",
            "客户",
            "企业名称",
            "单位名称",
            "company",
            "companyname",
            "customer",
            "customername",
            "name",
            "account",
        ],
    ),
    (
        "phone",
        "company",
        &[
            "电话",
            "公司电话",
            "座机",
            "联系电话",
            "phone",
            "telephone",
            "tel",
        ],
    ),
    (
        "email",
        "company",
        &["邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"],
    ),
    (
        "website",
        "company",
        &["网址", "网站", "主页", "website", "web", "url", "homepage"],
    ),
    (
        "address",
        "company",
        &["地址", "公司地址", "详细地址", "address"],
    ),
    (
        "introduction",
        "company",
        &[
            "简介",
            "公司简介",
            "介绍",
            "备注",
            "introduction",
            "description",
            "notes",
        ],
    ),
    (
        "category",
        "company",
        &[
            "客户分类",
            "客户类别",
            "分类",
            "类别",
            "客户类型",
            "category",
            "type",
        ],
    ),
    (
        "owner",
        "company",
        &["负责人", "所有者", "销售", "业务员", "owner", "salesperson"],
    ),
    ("tags", "company", &["标签", "tags", "tag"]),
    (
        "visibility",
        "company",
        &["查看权限", "权限", "可见性", "visibility"],
    ),
    (
        "company",
        "contact",
        &[
            "公司名称",
            "所属公司",
            "公司",
            "客户名称",
            "company",
            "companyname",
            "account",
        ],
    ),
    (
        "name",
        "contact",
        &[
            "姓名",
            "联系人",
            "联系人姓名",
            "名字",
            "name",
            "contact",
            "contactname",
            "fullname",
        ],
    ),
    (
        "title",
        "contact",
        &["职位", "职务", "头衔", "title", "jobtitle", "position"],
    ),
    (
        "phone",
        "contact",
        &[
            "电话",
            "座机",
            "办公电话",
            "phone",
            "telephone",
            "tel",
            "workphone",
        ],
    ),
    (
        "mobile",
        "contact",
        &[
            "手机",
            "手机号",
            "手机号码",
            "移动电话",
            "mobile",
            "cell",
            "cellphone",
        ],
    ),
    (
        "email",
        "contact",
        &["邮箱", "电子邮箱", "电子邮件", "email", "e-mail", "mail"],
    ),
    ("qq", "contact", &["qq", "qq号", "qq号码"]),
    ("wechat", "contact", &["微信", "微信号", "wechat", "weixin"]),
    (
        "other_im",
        "contact",
        &["其他联系方式", "其他即时通讯", "im", "skype", "whatsapp"],
    ),
    ("weibo", "contact", &["微博", "weibo"]),
];

/// A header reduced for matching: NFKC-ish lower case without spaces or punctuation.
fn header_key(header: &str) -> String {
    header
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .filter(|c| c.is_alphanumeric() || *c == '-')
        .collect()
}

/// The field `header` most likely means for `entity` (`company` or `contact`): a
/// built-in field, or `cf_<id>` when it equals a custom field's label. `None` when
/// nothing fits; each field is suggested at most once, for its first header.
pub fn suggest(
    entity: &str,
    headers: &[String],
    custom: &[(String, String)],
) -> Vec<Option<String>> {
    let mut taken: Vec<String> = vec![];
    headers
        .iter()
        .map(|h| {
            let key = header_key(h);
            if key.is_empty() {
                return None;
            }
            let builtin = HEADER_NAMES
                .iter()
                .filter(|(_, e, _)| *e == entity)
                .find(|(_, _, names)| names.iter().any(|n| header_key(n) == key))
                .map(|(field, _, _)| (*field).to_owned());
            let found = builtin.or_else(|| {
                custom
                    .iter()
                    .find(|(_, label)| header_key(label) == key)
                    .map(|(name, _)| name.clone())
            })?;
            if taken.contains(&found) {
                return None;
            }
            taken.push(found.clone());
            Some(found)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Encoding, SniffError, decode, detect, suggest};

    #[test]
    fn utf8_with_and_without_bom_gbk_and_gb18030_are_told_apart() {
        let text = "公司名称,电话\n北京星辰科技有限公司,010-8888\n";
        assert_eq!(detect(text.as_bytes()), Ok(Encoding::Utf8));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(detect(&bom), Ok(Encoding::Utf8Bom));
        assert_eq!(decode(&bom, Encoding::Utf8Bom), text);
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(detect(&gbk), Ok(Encoding::Gb18030));
        assert_eq!(decode(&gbk, Encoding::Gb18030), text);
        // A character outside GBK (𠀀, 4-byte GB18030).
        let (gb18030, _, _) = encoding_rs::GB18030.encode("名称\n𠀀公司\n");
        assert_eq!(detect(&gb18030), Ok(Encoding::Gb18030));
        assert_eq!(decode(&gb18030, Encoding::Gb18030), "名称\n𠀀公司\n");
    }

    #[test]
    fn a_file_mixing_utf8_and_gbk_lines_is_refused_with_the_line() {
        let (gbk, _, _) = encoding_rs::GBK.encode("上海远航物流,021\n");
        let mixed = ["公司名称,电话\n北京星辰,010\n".as_bytes(), &gbk].concat();
        assert_eq!(detect(&mixed), Err(SniffError::MixedEncodings { line: 3 }));
    }

    #[test]
    fn a_prefix_cut_inside_a_character_is_still_utf8() {
        let text = "公司名称\n北京".as_bytes();
        assert_eq!(detect(&text[..text.len() - 1]), Ok(Encoding::Utf8));
    }

    #[test]
    fn chinese_and_english_headers_and_custom_labels_are_recognised() {
        let headers: Vec<String> = [
            "客户名称",
            "Phone",
            "E-mail",
            "负责人",
            "行业",
            "未知列",
            "公司名称",
            "客户类别",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect();
        let custom = vec![("cf_7".to_owned(), "行业".to_owned())];
        assert_eq!(
            suggest("company", &headers, &custom),
            [
                Some("name".to_owned()),
                Some("phone".to_owned()),
                Some("email".to_owned()),
                Some("owner".to_owned()),
                Some("cf_7".to_owned()),
                None,
                None, // name is already taken by the first column
                Some("category".to_owned()),
            ]
        );
        let contact_headers: Vec<String> = ["所属公司", "姓名", "手机号码", "ＱＱ", "微信号"]
            .iter()
            .map(|h| (*h).to_owned())
            .collect();
        assert_eq!(
            suggest("contact", &contact_headers, &[]),
            [
                Some("company".to_owned()),
                Some("name".to_owned()),
                Some("mobile".to_owned()),
                Some("qq".to_owned()),
                Some("wechat".to_owned()),
            ]
        );
    }
}
