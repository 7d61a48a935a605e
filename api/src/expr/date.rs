//! `sprig.date(layout, time)` with Go's reference-time layouts
//! (`2006-01-02 15:04:05`), in UTC.

use serde_json::Value;

/// Go layout elements, longest first, as strftime directives.
const LAYOUT: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("Z07:00", "%:z"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    ("2006", "%Y"),
    (".000", ".%3f"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    ("01", "%m"),
    ("02", "%d"),
    ("06", "%y"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("PM", "%p"),
];

/// The time is Unix seconds or an RFC 3339 timestamp such as
/// `workflow.creationTimestamp`. (sprig formats the current time for a
/// string; the timestamp it was given is what the user means, and keeps
/// the engine free of a clock.)
pub(super) fn format(layout: &str, time: &Value) -> Result<String, String> {
    let ts = match time {
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .map_err(|e| format!("sprig.date(): {s:?} is not an RFC 3339 time: {e}"))?,
        v => {
            let secs = v.as_i64().ok_or("sprig.date(): the time must be Unix seconds or an RFC 3339 string")?;
            jiff::Timestamp::from_second(secs).map_err(|e| format!("sprig.date(): {e}"))?
        }
    };
    let mut fmt = String::new();
    let mut rest = layout;
    'outer: while let Some(c) = rest.chars().next() {
        for (go, strf) in LAYOUT {
            if let Some(after) = rest.strip_prefix(go) {
                fmt.push_str(strf);
                rest = after;
                continue 'outer;
            }
        }
        if c == '%' {
            fmt.push('%');
        }
        fmt.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let zoned = ts.to_zoned(jiff::tz::TimeZone::UTC);
    jiff::fmt::strtime::format(fmt.as_str(), &zoned).map_err(|e| format!("sprig.date(): {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::format;

    #[test]
    fn go_layouts() {
        let t = json!("2026-12-01T23:26:05Z");
        assert_eq!(format("2006", &t).unwrap(), "2026");
        assert_eq!(format("2006-01-02 15:04:05", &t).unwrap(), "2026-12-01 23:26:05");
        assert_eq!(format("Mon Jan 02 100%", &t).unwrap(), "Tue Dec 01 100%");
        assert_eq!(format("2006", &json!(0)).unwrap(), "1970");
        assert!(format("2006", &json!("yesterday")).is_err());
    }
}
