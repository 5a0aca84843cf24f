//! Cell values as import text: numbers without exponent or trailing `.0`, dates as
//! `YYYY-MM-DD[ HH:MM:SS]`, durations as `HH:MM:SS` (the rules are in the module docs of
//! [`super`]).

use calamine::{Data, DataRef, ExcelDateTime};

/// A cell value from any reader, borrowed.
pub(super) enum Value<'a> {
    Empty,
    Text(&'a str),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(&'a ExcelDateTime),
    DateTimeIso(&'a str),
    DurationIso(&'a str),
}

impl<'a> From<&'a DataRef<'a>> for Value<'a> {
    fn from(v: &'a DataRef<'a>) -> Self {
        match v {
            DataRef::Int(i) => Value::Int(*i),
            DataRef::Float(f) => Value::Float(*f),
            DataRef::String(s) => Value::Text(s),
            DataRef::SharedString(s) => Value::Text(s),
            DataRef::Bool(b) => Value::Bool(*b),
            DataRef::DateTime(d) => Value::DateTime(d),
            DataRef::DateTimeIso(s) => Value::DateTimeIso(s),
            DataRef::DurationIso(s) => Value::DurationIso(s),
            DataRef::Error(_) | DataRef::Empty => Value::Empty,
        }
    }
}

impl<'a> From<&'a Data> for Value<'a> {
    fn from(v: &'a Data) -> Self {
        match v {
            Data::Int(i) => Value::Int(*i),
            Data::Float(f) => Value::Float(*f),
            Data::String(s) => Value::Text(s),
            Data::Bool(b) => Value::Bool(*b),
            Data::DateTime(d) => Value::DateTime(d),
            Data::DateTimeIso(s) => Value::DateTimeIso(s),
            Data::DurationIso(s) => Value::DurationIso(s),
            Data::Error(_) | Data::Empty => Value::Empty,
        }
    }
}

/// Writes `value` as import text into `out` (cleared first) and returns the text.
pub(super) fn render<'v>(value: &Value<'v>, out: &'v mut String) -> &'v str {
    use std::fmt::Write as _;
    out.clear();
    match value {
        Value::Empty => {}
        Value::Text(s) => return s,
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => push_float(out, *f),
        Value::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Value::DateTime(d) => push_excel_datetime(out, d),
        Value::DateTimeIso(s) => push_iso_datetime(out, s),
        Value::DurationIso(s) => push_iso_duration(out, s),
    }
    out
}

/// Rust's `Display` for `f64` is the shortest round-trip form, never with an exponent and
/// without a trailing `.0`: `13800138000.0` → `13800138000`, `0.1` → `0.1`.
pub(super) fn push_float(out: &mut String, f: f64) {
    use std::fmt::Write as _;
    if f == 0.0 {
        out.push('0');
    } else if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        // Integral and exact in an i64 (|f| < 2^53): the same digits, formatted faster.
        let _ = write!(out, "{}", f as i64);
    } else if f.is_finite() {
        let _ = write!(out, "{f}");
    }
}

fn push_hms(out: &mut String, h: u64, m: u64, s: u64) {
    use std::fmt::Write as _;
    let _ = write!(out, "{h:02}:{m:02}:{s:02}");
}

fn push_excel_datetime(out: &mut String, d: &ExcelDateTime) {
    use std::fmt::Write as _;
    let v = d.as_f64();
    if !v.is_finite() {
        return;
    }
    if d.is_duration() || (0.0..1.0).contains(&v) {
        // A duration, or a time of day with no date.
        let total = (v.abs() * 86_400.0).round();
        let total = if total > 1e15 { 0 } else { total as u64 };
        if v < 0.0 {
            out.push('-');
        }
        push_hms(out, total / 3600, total / 60 % 60, total % 60);
        return;
    }
    let (y, mo, day, h, mi, s, _ms) = d.to_ymd_hms_milli();
    let _ = write!(out, "{y:04}-{mo:02}-{day:02}");
    if (h, mi, s) != (0, 0, 0) {
        out.push(' ');
        push_hms(out, h.into(), mi.into(), s.into());
    }
}

/// `2024-01-05T10:30:00.123` → `2024-01-05 10:30:00`; `2024-01-05T00:00:00` → `2024-01-05`.
pub(super) fn push_iso_datetime(out: &mut String, s: &str) {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, t),
        None => (s, ""),
    };
    out.push_str(date);
    let time = time
        .split(['.', 'Z', '+'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('-');
    if !time.is_empty() && time != "00:00:00" && time != "00:00" {
        out.push(' ');
        out.push_str(time);
    }
}

/// `PT10H30M05S` / `P1DT2H` → `HH:MM:SS` (hours may exceed 24); anything else is copied.
pub(super) fn push_iso_duration(out: &mut String, s: &str) {
    fn parse(s: &str) -> Option<(bool, u64)> {
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let s = s.strip_prefix('P')?;
        let mut secs: f64 = 0.0;
        let mut num = String::new();
        let mut in_time = false;
        for c in s.chars() {
            match c {
                'T' => in_time = true,
                '0'..='9' | '.' => num.push(c),
                _ => {
                    let n: f64 = num.parse().ok()?;
                    num.clear();
                    secs += n * match (c, in_time) {
                        ('D', false) => 86_400.0,
                        ('H', true) => 3_600.0,
                        ('M', true) => 60.0,
                        ('S', true) => 1.0,
                        _ => return None,
                    };
                }
            }
        }
        if !num.is_empty() || !secs.is_finite() || secs > 1e15 {
            return None;
        }
        Some((neg, secs.round() as u64))
    }
    match parse(s.trim()) {
        Some((neg, total)) => {
            if neg {
                out.push('-');
            }
            push_hms(out, total / 3600, total / 60 % 60, total % 60);
        }
        None => out.push_str(s),
    }
}
