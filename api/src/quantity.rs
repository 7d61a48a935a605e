//! Kubernetes resource quantities (`500m`, `1.5Gi`, `2e3`), compared
//! exactly: each is read as a whole number of nano-units.

use std::cmp::Ordering;

/// A quantity in nano-units (1 = 10^-9), rounded up below that.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Nanos(pub i128);

/// A suffix as (power of 1024, power of 10): `Mi` is (2, 0), `m` (0, -3).
fn scale(suffix: &str) -> Option<(u32, i32)> {
    const DECIMAL: [&str; 10] = ["n", "u", "m", "", "k", "M", "G", "T", "P", "E"];
    const BINARY: [&str; 6] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
    if let Some(i) = DECIMAL.iter().position(|s| *s == suffix) {
        return Some((0, (i as i32 - 3) * 3));
    }
    BINARY.iter().position(|s| *s == suffix).map(|i| (i as u32 + 1, 0))
}

/// Parses the quantity grammar the apiserver accepts.
pub fn parse(s: &str) -> Result<Nanos, String> {
    let bad = |why: &str| format!("{s:?} is not a quantity ({why}; e.g. 500m, 2, 1.5Gi)");
    let t = s.trim();
    let (sign, t) = match t.as_bytes().first() {
        Some(b'-') => (-1, &t[1..]),
        Some(b'+') => (1, &t[1..]),
        _ => (1, t),
    };
    let number_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, suffix) = t.split_at(number_end);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad("no number"));
    }
    if whole.len() + frac.len() > 30 {
        return Err(bad("too many digits"));
    }
    let digits: i128 = format!("{whole}{frac}").parse().map_err(|_| bad("not a number"))?;
    // value = digits * 10^-frac.len() * scale
    let (binary, decimal_exp) = match scale(suffix) {
        Some(s) => s,
        None if suffix.starts_with(['e', 'E']) => {
            let exp: i32 = suffix[1..].parse().map_err(|_| bad("bad exponent"))?;
            if !(-30..=30).contains(&exp) {
                return Err(bad("exponent out of range"));
            }
            (0, exp)
        }
        None => return Err(bad("unknown suffix")),
    };
    let overflow = || bad("too large");
    let mut v = digits.checked_mul(1024_i128.pow(binary)).ok_or_else(overflow)?;
    let exp = decimal_exp + 9 - i32::try_from(frac.len()).map_err(|_| bad("too many digits"))?;
    match exp.cmp(&0) {
        Ordering::Greater => {
            v = v.checked_mul(10_i128.checked_pow(exp.unsigned_abs()).ok_or_else(overflow)?).ok_or_else(overflow)?
        }
        Ordering::Less => {
            let d = 10_i128.checked_pow(exp.unsigned_abs()).ok_or_else(overflow)?;
            v = (v + d - 1) / d;
        }
        Ordering::Equal => {}
    }
    Ok(Nanos(sign * v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> i128 {
        parse(s).unwrap_or_else(|e| panic!("{e}")).0
    }

    #[test]
    fn units_compare_exactly() {
        assert_eq!(q("500m"), q("0.5"));
        assert_eq!(q("1Gi"), q("1073741824"));
        assert_eq!(q("1k"), q("1e3"));
        assert_eq!(q("100m"), q("0.1"));
        assert!(q("64Ti") > q("8Gi"));
        assert!(q("1.5Gi") < q("2Gi"));
        assert_eq!(q("1n"), 1);
        assert_eq!(q("8Ei"), 8 * 1024_i128.pow(6) * 1_000_000_000);
    }

    #[test]
    fn nonsense_is_an_error() {
        for bad in ["", "abc", "1Q", "1e99", "1.2.3", "99999999999999999999999999999999Ei"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
