//! Money: amounts are integer minor units (fen for CNY) with an ISO 4217 currency code,
//! never floating point. [`format`] shows an amount for a locale (`¥1,234.56`); [`parse`]
//! reads what a person types into an amount field (`1234.56`, `1,234.56`, `¥1234`,
//! `￥1,234.5`) and says clearly what is wrong otherwise.

use crate::i18n::Locale;

/// The currency of new amounts.
pub const DEFAULT_CURRENCY: &str = "CNY";

/// The largest amount the database accepts (`opportunities.amount`), in minor units.
pub const MAX_MINOR: i64 = 900_000_000_000_000_000;

/// The symbol of `currency` in `locale`, as browsers' `Intl.NumberFormat` writes it:
/// `¥` for CNY in Chinese, `CN¥` in English (where `¥` alone reads as yen).
fn symbol(locale: Locale, currency: &str) -> String {
    match (currency, locale) {
        ("CNY", Locale::ZhCn) => "¥".into(),
        ("CNY", Locale::En) => "CN¥".into(),
        ("USD", Locale::En) => "$".into(),
        ("USD", Locale::ZhCn) => "US$".into(),
        ("EUR", _) => "€".into(),
        ("JPY", Locale::ZhCn) => "JP¥".into(),
        ("JPY", Locale::En) => "¥".into(),
        ("HKD", _) => "HK$".into(),
        (other, _) => format!("{other} "),
    }
}

/// An amount of minor units as the locale shows it: symbol, thousands grouped, two
/// decimals (`¥1,234.56`, `-¥5.00`).
pub fn format(locale: Locale, minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!(
        "{sign}{}{}.{:02}",
        symbol(locale, currency),
        group(abs / 100),
        abs % 100
    )
}

/// `1234567` → `1,234,567` (both locales group by thousands with a comma).
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Why a typed amount was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a number (letters, two decimal points, misplaced separators).
    Invalid,
    /// Below zero.
    Negative,
    /// More than two decimals.
    TooPrecise,
    /// Above [`MAX_MINOR`].
    TooLarge,
}

impl MoneyError {
    /// The locale key of the message.
    pub fn key(self) -> &'static str {
        match self {
            Self::Invalid => "money.invalid",
            Self::Negative => "money.negative",
            Self::TooPrecise => "money.too_precise",
            Self::TooLarge => "money.too_large",
        }
    }
}

/// Reads a typed amount into minor units. Empty means zero. Accepts an optional currency
/// sign (`¥`, `￥`, `CN¥`, `RMB`, `元` after the number), spaces, thousands separators in
/// the right places (`,` or full-width `，`) and up to two decimals.
pub fn parse(raw: &str) -> Result<i64, MoneyError> {
    let mut text: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '，' => ',',
            '．' => '.',
            '－' => '-',
            c => c,
        })
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    let negative = text.starts_with('-');
    if negative {
        text.remove(0);
    }
    for prefix in ["CN¥", "RMB", "CNY", "¥", "￥"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.to_owned();
            break;
        }
    }
    if let Some(rest) = text.strip_suffix('元') {
        text = rest.to_owned();
    }
    if !negative && text.starts_with('-') {
        text.remove(0);
        return match digits_to_minor(&text) {
            Ok(0) => Ok(0),
            Ok(_) => Err(MoneyError::Negative),
            Err(e) => Err(e),
        };
    }
    let minor = digits_to_minor(&text)?;
    if negative && minor != 0 {
        return Err(MoneyError::Negative);
    }
    Ok(minor)
}

/// `1,234.56` → 123456, checking the grouping and the decimals.
fn digits_to_minor(text: &str) -> Result<i64, MoneyError> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return Err(MoneyError::Invalid);
    }
    if whole.contains(',') {
        let groups: Vec<&str> = whole.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return Err(MoneyError::Invalid);
        }
    }
    let whole: String = whole.chars().filter(|c| *c != ',').collect();
    if !whole.chars().all(|c| c.is_ascii_digit()) {
        return Err(MoneyError::Invalid);
    }
    let fraction = fraction.unwrap_or_default();
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(MoneyError::Invalid);
    }
    if fraction.len() > 2 {
        return Err(MoneyError::TooPrecise);
    }
    let units: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| MoneyError::TooLarge)?
    };
    let cents: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    let minor = units
        .checked_mul(100)
        .and_then(|m| m.checked_add(cents))
        .ok_or(MoneyError::TooLarge)?;
    if minor > MAX_MINOR {
        return Err(MoneyError::TooLarge);
    }
    Ok(minor)
}

/// Minor units as a plain number for an input field: `123456` → `1234.56`, `100` → `1`.
pub fn to_input(minor: i64) -> String {
    if minor % 100 == 0 {
        (minor / 100).to_string()
    } else {
        format!("{}.{:02}", minor / 100, (minor % 100).abs())
    }
}

/// Minor units grouped with two decimals and no symbol, for a field read as money (the
/// twelve monthly targets): `1234567` → `12,345.67`. [`parse`] reads it back.
pub fn plain(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", group(abs / 100), abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_amounts_group_and_read_back() {
        assert_eq!(plain(1_234_567), "12,345.67");
        assert_eq!(plain(80_000), "800.00");
        assert_eq!(parse(&plain(1_234_567)), Ok(1_234_567));
    }

    #[test]
    fn amounts_are_shown_with_symbol_groups_and_two_decimals() {
        assert_eq!(format(Locale::ZhCn, 123_456, "CNY"), "¥1,234.56");
        assert_eq!(format(Locale::ZhCn, 0, "CNY"), "¥0.00");
        assert_eq!(format(Locale::ZhCn, 5, "CNY"), "¥0.05");
        assert_eq!(format(Locale::ZhCn, 100_000_000, "CNY"), "¥1,000,000.00");
        assert_eq!(format(Locale::En, 123_456, "CNY"), "CN¥1,234.56");
        assert_eq!(format(Locale::En, -500, "USD"), "-$5.00");
        assert_eq!(format(Locale::ZhCn, 99_900, "GBP"), "GBP 999.00");
    }

    #[test]
    fn typed_amounts_are_read_in_the_usual_spellings() {
        for (typed, minor) in [
            ("1234.56", 123_456),
            ("1,234.56", 123_456),
            ("¥1234", 123_400),
            ("￥1,234.5", 123_450),
            (" 1 234 ", 123_400),
            ("CN¥12", 1_200),
            ("RMB 12.3", 1_230),
            ("500元", 50_000),
            ("0.99", 99),
            (".5", 50),
            ("1，000", 100_000),
            ("", 0),
            ("1,000,000", 100_000_000),
        ] {
            assert_eq!(parse(typed), Ok(minor), "{typed:?}");
        }
    }

    #[test]
    fn bad_amounts_say_why() {
        for (typed, why) in [
            ("abc", MoneyError::Invalid),
            ("12a", MoneyError::Invalid),
            ("1.2.3", MoneyError::Invalid),
            ("12,34", MoneyError::Invalid),
            ("1,2345", MoneyError::Invalid),
            (",123", MoneyError::Invalid),
            ("¥", MoneyError::Invalid),
            (".", MoneyError::Invalid),
            ("-5", MoneyError::Negative),
            ("¥-5", MoneyError::Negative),
            ("1.234", MoneyError::TooPrecise),
            ("99999999999999999999", MoneyError::TooLarge),
            ("9000000000000000.01", MoneyError::TooLarge),
        ] {
            assert_eq!(parse(typed), Err(why), "{typed:?}");
        }
    }

    #[test]
    fn an_input_shows_the_amount_so_it_reads_back_the_same() {
        for minor in [0, 1, 99, 100, 123_456, 100_000_000] {
            assert_eq!(parse(&to_input(minor)), Ok(minor));
        }
        assert_eq!(to_input(123_400), "1234");
        assert_eq!(to_input(123_450), "1234.50");
    }
}
