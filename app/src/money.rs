//! Money: integer fen (minor units of CNY) in the database and in code, shown as
//! `¥1,234.56` and typed the way people write it (`12,345.67`, `¥12345`, `１２,３４５．６`
//! from a full-width IME). Floating point never touches an amount.

/// The largest amount the schema accepts (`amount BETWEEN 0 AND 900000000000000000`).
pub const MAX_FEN: i64 = 900_000_000_000_000_000;

/// Why a typed amount was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a number like `12,345.67`.
    Invalid,
    /// More than two digits after the point (fen is the smallest unit).
    TooPrecise,
    /// Below zero.
    Negative,
    /// Above [`MAX_FEN`].
    TooLarge,
}

impl MoneyError {
    /// The locale key of the message.
    pub fn message_key(self) -> &'static str {
        match self {
            Self::Invalid => "money.invalid",
            Self::TooPrecise => "money.too_precise",
            Self::Negative => "money.negative",
            Self::TooLarge => "money.too_large",
        }
    }
}

/// Parses a typed amount into fen: an optional `¥`/`￥` (or `CNY`/`RMB`/`元`), digits with
/// optional thousands separators, and up to two decimals. Full-width digits and
/// punctuation count as their ASCII forms; spaces are ignored. An empty input is `None`.
pub fn parse(raw: &str) -> Result<Option<i64>, MoneyError> {
    let text: String = raw
        .chars()
        .filter_map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '，' => Some(','),
            '．' | '。' => Some('.'),
            '－' => Some('-'),
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .collect();
    let mut text = text.as_str();
    if text.is_empty() {
        return Ok(None);
    }
    let negative = if let Some(rest) = text.strip_prefix('-') {
        text = rest;
        true
    } else {
        false
    };
    for prefix in ["¥", "￥", "CNY", "RMB", "cny", "rmb"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
            break;
        }
    }
    text = text.strip_suffix('元').unwrap_or(text);
    if !negative && let Some(rest) = text.strip_prefix('-') {
        // ¥-5
        return if is_plain_number(rest) {
            Err(MoneyError::Negative)
        } else {
            Err(MoneyError::Invalid)
        };
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    if !valid_whole(whole) {
        return Err(MoneyError::Invalid);
    }
    let fraction = fraction.unwrap_or("");
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MoneyError::Invalid);
    }
    if whole.is_empty() && fraction.is_empty() {
        return Err(MoneyError::Invalid);
    }
    if fraction.len() > 2 {
        return Err(MoneyError::TooPrecise);
    }
    if negative {
        return Err(MoneyError::Negative);
    }
    let mut yuan: i64 = 0;
    for b in whole.bytes().filter(u8::is_ascii_digit) {
        yuan = yuan
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(MoneyError::TooLarge)?;
    }
    let mut fen: i64 = 0;
    for (i, b) in fraction.bytes().enumerate() {
        fen += i64::from(b - b'0') * if i == 0 { 10 } else { 1 };
    }
    let total = yuan
        .checked_mul(100)
        .and_then(|v| v.checked_add(fen))
        .ok_or(MoneyError::TooLarge)?;
    if total > MAX_FEN {
        return Err(MoneyError::TooLarge);
    }
    Ok(Some(total))
}

/// Digits, optionally grouped by commas in threes (`12,345`); a bare run of digits is
/// fine too, and so is an empty whole part (`.5`).
fn valid_whole(whole: &str) -> bool {
    if !whole.contains(',') {
        return whole.bytes().all(|b| b.is_ascii_digit());
    }
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
}

fn is_plain_number(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
}

/// `12,345.67`: an amount without the currency sign, as a form shows a stored value.
pub fn plain(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", group(abs / 100), abs % 100)
}

/// `¥1,234.56`: how every page shows an amount (the same in both languages: it is CNY).
pub fn format(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}¥{}.{:02}", group(abs / 100), abs % 100)
}

/// Thousands separators.
fn group(mut n: u64) -> String {
    let mut parts = Vec::new();
    loop {
        if n < 1000 {
            parts.push(n.to_string());
            break;
        }
        parts.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_become_fen() {
        for (typed, fen) in [
            ("12,345.67", 1_234_567),
            ("12345.67", 1_234_567),
            ("12345", 1_234_500),
            ("¥12,345.6", 1_234_560),
            ("￥ 1 000", 100_000),
            ("0.05", 5),
            (".5", 50),
            ("7.", 700),
            ("１２，３４５．６７", 1_234_567),
            ("RMB 20", 2_000),
            ("300元", 30_000),
            ("1,000,000", 100_000_000),
            ("0", 0),
        ] {
            assert_eq!(parse(typed), Ok(Some(fen)), "{typed}");
        }
        assert_eq!(parse("   "), Ok(None));
        assert_eq!(parse(""), Ok(None));
    }

    #[test]
    fn bad_amounts_say_why() {
        for (typed, err) in [
            ("12.345", MoneyError::TooPrecise),
            ("-5", MoneyError::Negative),
            ("¥-5", MoneyError::Negative),
            ("abc", MoneyError::Invalid),
            ("1,23", MoneyError::Invalid),
            ("12,3456", MoneyError::Invalid),
            (",123", MoneyError::Invalid),
            ("1.2.3", MoneyError::Invalid),
            (".", MoneyError::Invalid),
            ("1e5", MoneyError::Invalid),
            ("9999999999999999999999", MoneyError::TooLarge),
            ("9000000000000000.01", MoneyError::TooLarge),
        ] {
            assert_eq!(parse(typed), Err(err), "{typed}");
        }
        assert_eq!(parse("9000000000000000"), Ok(Some(MAX_FEN)));
    }

    #[test]
    fn amounts_are_shown_with_yuan_sign_and_separators() {
        assert_eq!(format(123_456), "¥1,234.56");
        assert_eq!(format(5), "¥0.05");
        assert_eq!(format(10_000_000_000), "¥100,000,000.00");
        assert_eq!(format(-250), "-¥2.50");
        assert_eq!(plain(1_234_567), "12,345.67");
        assert_eq!(parse(&plain(987_654_321)), Ok(Some(987_654_321)));
    }
}
