//! Topic names and topic filters (MQTT 5.0 §4.7, §4.8.2).
//!
//! A Topic Name is what a PUBLISH is sent to: no wildcards. A Topic Filter is
//! what a subscription matches: `+` stands for one level, `#` for any number of
//! trailing levels, and `$share/{ShareName}/{filter}` names a shared
//! subscription.

/// The prefix of a shared subscription's topic filter.
pub const SHARE_PREFIX: &str = "$share/";

/// True if `s` contains `+` or `#`.
#[inline]
pub fn has_wildcard(s: &str) -> bool {
    s.bytes().any(|b| b == b'+' || b == b'#')
}

/// Checks a Topic Name: at least one character [MQTT-4.7.3-1] and no wildcard
/// characters [MQTT-3.3.2-2].
pub fn check_name(name: &str) -> Result<(), &'static str> {
    check_name_bytes(name.as_bytes())
}

/// [`check_name`] on the bytes of a string (a [`crate::codec::ByteStr`]'s,
/// without converting it to `&str` first).
pub(crate) fn check_name_bytes(name: &[u8]) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("topic name is empty");
    }
    if name.iter().any(|&b| b == b'+' || b == b'#') {
        return Err("topic name contains a wildcard");
    }
    Ok(())
}

/// True if `filter` is a shared subscription (`$share/...`).
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(SHARE_PREFIX)
}

/// [`is_shared`] on the bytes of a string.
pub(crate) fn is_shared_bytes(filter: &[u8]) -> bool {
    filter.starts_with(SHARE_PREFIX.as_bytes())
}

/// Splits a shared subscription filter into its ShareName and the filter it
/// shares; `None` if `filter` is not of the form `$share/{ShareName}/{filter}`.
pub fn parse_shared(filter: &str) -> Option<(&str, &str)> {
    let rest = filter.strip_prefix(SHARE_PREFIX)?;
    let (group, inner) = rest.split_once('/')?;
    Some((group, inner))
}

/// Checks an MQTT 5.0 Topic Filter, including the shared-subscription form.
///
/// Rules: those of [`check_plain_filter`], and for `$share/...` a ShareName of
/// at least one character without `/`, `+` or `#`, followed by a filter
/// [MQTT-4.8.2-1], [MQTT-4.8.2-2].
pub fn check_filter(filter: &str) -> Result<(), &'static str> {
    check_filter_bytes(filter.as_bytes())
}

/// [`check_filter`] on the bytes of a string.
fn check_filter_bytes(filter: &[u8]) -> Result<(), &'static str> {
    let Some(rest) = filter.strip_prefix(SHARE_PREFIX.as_bytes()) else {
        return check_plain_filter_bytes(filter);
    };
    let Some(slash) = rest.iter().position(|&b| b == b'/') else {
        return Err("shared subscription has no topic filter after the ShareName");
    };
    let (group, inner) = (&rest[..slash], &rest[slash + 1..]);
    if group.is_empty() || group.iter().any(|&b| b == b'+' || b == b'#') {
        return Err("ShareName is empty or contains a wildcard");
    }
    if inner.is_empty() {
        return Err("shared subscription has an empty topic filter");
    }
    check_plain_filter_bytes(inner)
}

/// Checks a Topic Filter without giving `$share/` any meaning, as MQTT 3.1.1
/// does: at least one character [MQTT-4.7.3-1]; `#` only as the last level and
/// alone in it [MQTT-4.7.1-1]; `+` alone in its level [MQTT-4.7.1-2].
pub fn check_plain_filter(filter: &str) -> Result<(), &'static str> {
    check_plain_filter_bytes(filter.as_bytes())
}

/// [`check_plain_filter`] on the bytes of a string, in one pass from
/// wildcard to wildcard: each must have a `/` (or the end) on each side, and
/// `#` must be last.
fn check_plain_filter_bytes(f: &[u8]) -> Result<(), &'static str> {
    if f.is_empty() {
        return Err("topic filter is empty");
    }
    let mut from = 0;
    while let Some(k) = crate::codec::wire::find_wildcard(&f[from..]) {
        let i = from + k;
        from = i + 1;
        let b = f[i];
        let alone = (i == 0 || f[i - 1] == b'/') && f.get(i + 1).is_none_or(|&n| n == b'/');
        if b == b'#' && !(alone && i + 1 == f.len()) {
            return Err("'#' is not alone in the last level of the topic filter");
        }
        if !alone {
            // a level holding both is reported for its '#'
            let level = f[i..].split(|&c| c == b'/').next().unwrap_or_default();
            if level.contains(&b'#') {
                return Err("'#' is not alone in the last level of the topic filter");
            }
            return Err("'+' is not alone in its level of the topic filter");
        }
    }
    Ok(())
}

/// Checks a Topic Filter by the rules of `protocol`: shared subscriptions
/// exist only in MQTT 5.0.
pub fn check_filter_for(
    filter: &str,
    protocol: crate::codec::Protocol,
) -> Result<(), &'static str> {
    check_filter_for_bytes(filter.as_bytes(), protocol)
}

/// [`check_filter_for`] on the bytes of a string.
pub(crate) fn check_filter_for_bytes(
    filter: &[u8],
    protocol: crate::codec::Protocol,
) -> Result<(), &'static str> {
    match protocol {
        crate::codec::Protocol::V5 => check_filter_bytes(filter),
        crate::codec::Protocol::V311 => check_plain_filter_bytes(filter),
    }
}

/// True if the Topic Name `topic` matches the Topic Filter `filter` (which must
/// be valid and not shared: match against the filter [`parse_shared`] returns).
///
/// A filter starting with a wildcard does not match a topic starting with `$`
/// [MQTT-4.7.2-1].
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_mqtt_4_7_1_1_and_4_7_1_2() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "$share/g/a/#", "$SYS/#"] {
            assert_eq!(check_filter(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a#",
            "a/#/b",
            "a/b#",
            "a+",
            "a/+b",
            "$share/g",
            "$share//a",
            "$share/g+/a",
            "$share/g/",
        ] {
            assert!(check_filter(bad).is_err(), "{bad}");
        }
    }

    /// The one-pass check gives the answer (and the message) of the plain
    /// definition, level by level, for every string of up to 7 characters
    /// over `a / + #`.
    #[test]
    fn one_pass_filter_check_agrees_with_the_definition() {
        fn by_levels(filter: &str) -> Result<(), &'static str> {
            if filter.is_empty() {
                return Err("topic filter is empty");
            }
            let mut levels = filter.split('/').peekable();
            while let Some(level) = levels.next() {
                if level.contains('#') && (level != "#" || levels.peek().is_some()) {
                    return Err("'#' is not alone in the last level of the topic filter");
                }
                if level.contains('+') && level != "+" {
                    return Err("'+' is not alone in its level of the topic filter");
                }
            }
            Ok(())
        }
        let mut all = alloc::vec![alloc::string::String::new()];
        let mut last = all.clone();
        for _ in 0..7 {
            last = last
                .iter()
                .flat_map(|s| ['a', '/', '+', '#'].map(|c| alloc::format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        for f in &all {
            assert_eq!(check_plain_filter(f), by_levels(f), "{f:?}");
            // The same filters across the eight-byte words of the search.
            for g in [alloc::format!("sensors/{f}"), alloc::format!("abc/{f}/defghij/+")] {
                assert_eq!(check_plain_filter(&g), by_levels(&g), "{g:?}");
            }
        }
    }

    #[test]
    fn matching_mqtt_4_7_2_1() {
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("a/+/c", "a/b/c"));
        assert!(!matches("a/+/c", "a/b/d"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("+", "a/b"));
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/x", "$SYS/x"));
        assert!(matches("$SYS/#", "$SYS/x"));
    }

    #[test]
    fn share_prefix_is_an_ordinary_filter_in_3_1_1() {
        assert!(check_filter("$share/g").is_err());
        assert_eq!(check_plain_filter("$share/g"), Ok(()));
        assert_eq!(check_filter_for("$share//a", crate::codec::Protocol::V311), Ok(()));
        assert!(check_filter_for("$share//a", crate::codec::Protocol::V5).is_err());
    }

    #[test]
    fn shared_parse() {
        assert_eq!(parse_shared("$share/g/a/b"), Some(("g", "a/b")));
        assert_eq!(parse_shared("a/b"), None);
    }
}
