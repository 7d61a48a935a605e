use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The kubelet keeps at most this much of a container's termination
/// message; a longer one is cut and would no longer be JSON.
pub const TERMINATION_MESSAGE_BYTES: usize = 4096;

/// The outputs of one run of the main command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Record {
    /// Standard output, one trailing newline trimmed, as upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Output parameters read from their files.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
    /// Output parameters whose file could not be read, and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
    /// Values left out because the message would not hold them: their size
    /// in bytes, by parameter name (`result` for standard output is
    /// the key `""`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub too_large: BTreeMap<String, usize>,
}

impl Record {
    /// The record as JSON of at most `budget` bytes: the largest values
    /// move to `too_large` until it fits.
    pub fn to_message(mut self, budget: usize) -> String {
        loop {
            let text = serde_json::to_string(&self).unwrap_or_else(|_| "{}".into());
            if text.len() <= budget {
                return text;
            }
            let largest_param = self.parameters.iter().max_by_key(|(_, v)| v.len()).map(|(k, v)| (k.clone(), v.len()));
            let result_len = self.result.as_ref().map(String::len);
            match (largest_param, result_len) {
                (Some((name, len)), r) if r.is_none_or(|r| len >= r) => {
                    self.parameters.remove(&name);
                    self.too_large.insert(name, len);
                }
                (_, Some(len)) => {
                    self.result = None;
                    self.too_large.insert(String::new(), len);
                }
                // Only names and reasons are left: shorten the reasons.
                _ if self.unreadable.values().any(|v| v.len() > 64) => {
                    for v in self.unreadable.values_mut() {
                        let cut = (0..=64).rev().find(|i| v.is_char_boundary(*i)).unwrap_or(0);
                        v.truncate(cut);
                    }
                }
                _ => return "{}".into(),
            }
        }
    }
}

/// `s` without one trailing newline, as upstream trims results and files.
pub fn trim_one_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_records_are_kept_whole() {
        let r = Record {
            result: Some("hello".into()),
            parameters: BTreeMap::from([("p".into(), "v".into())]),
            ..Default::default()
        };
        let text = r.clone().to_message(TERMINATION_MESSAGE_BYTES);
        assert_eq!(serde_json::from_str::<Record>(&text).ok(), Some(r));
    }

    #[test]
    fn the_largest_values_give_way_until_the_record_fits() {
        let r = Record {
            result: Some("r".repeat(3000)),
            parameters: BTreeMap::from([("big".into(), "b".repeat(3500)), ("small".into(), "s".into())]),
            ..Default::default()
        };
        let text = r.to_message(TERMINATION_MESSAGE_BYTES);
        assert!(text.len() <= TERMINATION_MESSAGE_BYTES);
        let back: Record = serde_json::from_str(&text).expect("JSON");
        assert_eq!(back.too_large.get("big"), Some(&3500));
        assert_eq!(back.result.as_deref().map(str::len), Some(3000));
        assert_eq!(back.parameters.get("small").map(String::as_str), Some("s"));

        let r = Record {
            result: Some("r".repeat(5000)),
            ..Default::default()
        };
        let back: Record = serde_json::from_str(&r.to_message(100)).expect("JSON");
        assert_eq!((back.result, back.too_large.get("")), (None, Some(&5000)));
    }

    #[test]
    fn even_many_long_reasons_fit() {
        let r = Record {
            unreadable: (0..40).map(|i| (format!("p{i}"), "x".repeat(500))).collect(),
            ..Default::default()
        };
        assert!(r.to_message(TERMINATION_MESSAGE_BYTES).len() <= TERMINATION_MESSAGE_BYTES);
    }

    #[test]
    fn one_newline_is_trimmed() {
        assert_eq!(trim_one_newline("a\n\n".into()), "a\n");
        assert_eq!(trim_one_newline("a".into()), "a");
    }
}
