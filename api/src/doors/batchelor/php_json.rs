//! PHP's `json_encode($value, $flags)`, byte for byte, for the flags Batchelor's JSON service lets a
//! client choose. Batchelor's clients were written against PHP's output, so the door writes what
//! PHP 8 writes (php-src `ext/json/json_encoder.c`), not what `serde_json` writes: `\/` and
//! `\u00e9` by choice of the client, floats as PHP prints them, numeric strings as numbers.

use serde_json::Value;

/// The `json_encode` flags of one request. Batchelor's `JsonService::getEncodeOptions` sets them from
/// the request parameters `pretty`, `escape`, `numeric`, `unicode` and `fraction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Modifiers {
    /// `JSON_PRETTY_PRINT`: 4-space indent, a line per member, `": "` after keys.
    pub(crate) pretty: bool,
    /// `JSON_UNESCAPED_SLASHES`: `/` as is instead of `\/`.
    pub(crate) unescaped_slashes: bool,
    /// `JSON_NUMERIC_CHECK`: string values that PHP finds numeric are written as numbers.
    pub(crate) numeric_check: bool,
    /// `JSON_UNESCAPED_UNICODE`: non-ASCII as UTF-8 instead of `\uXXXX`.
    pub(crate) unescaped_unicode: bool,
    /// `JSON_PRESERVE_ZERO_FRACTION`: the float 1.0 as `1.0` instead of `1`.
    pub(crate) preserve_zero_fraction: bool,
}

impl Modifiers {
    /// The flags as Batchelor derives them from the request parameters. `get` returns a parameter's
    /// raw value, or `None` when the request lacks it.
    ///
    /// Batchelor's code is `getParam("pretty") == 1`, `getParam("escape") == 0`,
    /// `getParam("unicode") == 0`, `getParam("numeric") == 1`, `getParam("fraction") == 1`, where
    /// uup-site's `Params::getParam` returns `false` for a parameter that is absent or PHP-falsy (`""`
    /// or `"0"`), else the string. As `false == 0` in PHP, slashes and Unicode are unescaped unless
    /// the client asks otherwise (`escape=1`, `unicode=1`). A string compares with PHP 8's `==`: as a
    /// number when it is numeric (`"1.0"`, `" 1"`, `"1e0"` equal 1), and never equal otherwise
    /// (`"yes"`, `"0x1"`, `"1abc"`; PHP 7 compared their leading number, or 0, so `"yes" == 0`).
    ///
    /// `getParam` reads the query string first and the form body only when the query's value is
    /// absent or falsy; a caller with both should pass that value.
    pub(crate) fn from_params(get: impl Fn(&str) -> Option<String>) -> Modifiers {
        let equals = |name: &str, number: f64| match get(name) {
            // Absent, "" and "0" are PHP's `false`, which loosely equals 0 and not 1.
            None => number == 0.0,
            Some(raw) if raw.is_empty() || raw == "0" => number == 0.0,
            Some(raw) => match php_numeric(&raw) {
                Some(PhpNumber::Long(long)) => long as f64 == number,
                Some(PhpNumber::Double(double)) => double == number,
                None => false,
            },
        };
        Modifiers {
            pretty: equals("pretty", 1.0),
            unescaped_slashes: equals("escape", 0.0),
            numeric_check: equals("numeric", 1.0),
            unescaped_unicode: equals("unicode", 0.0),
            preserve_zero_fraction: equals("fraction", 1.0),
        }
    }
}

/// `value` as `json_encode($value, $flags)` writes it. Objects are written in the map's iteration
/// order: PHP keeps insertion order, which `serde_json::Map` keeps only with its `preserve_order`
/// feature. An integer above `i64::MAX`, which PHP cannot hold, is written as the float PHP's
/// `json_decode` would have made of it.
pub(crate) fn encode(value: &Value, modifiers: &Modifiers) -> String {
    let mut encoder = Encoder {
        modifiers,
        depth: 0,
        out: String::new(),
    };
    encoder.value(value);
    encoder.out
}

struct Encoder<'a> {
    modifiers: &'a Modifiers,
    depth: usize,
    out: String,
}

impl Encoder<'_> {
    fn value(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(true) => self.out.push_str("true"),
            Value::Bool(false) => self.out.push_str("false"),
            Value::Number(number) => {
                if let Some(long) = number.as_i64() {
                    self.out.push_str(&long.to_string());
                } else {
                    // A u64 beyond i64::MAX, or a float; serde_json holds no NaN or infinity.
                    let double = number.as_f64().unwrap_or(f64::MAX);
                    self.double(double);
                }
            }
            // Keys are never numeric-checked (the encoder masks the flag for them); values are.
            Value::String(string) => self.string(string, self.modifiers.numeric_check),
            Value::Array(items) => {
                self.out.push('[');
                self.depth += 1;
                for (index, item) in items.iter().enumerate() {
                    self.separator(index);
                    self.value(item);
                }
                self.close(items.is_empty(), ']');
            }
            Value::Object(members) => {
                self.out.push('{');
                self.depth += 1;
                for (index, (key, member)) in members.iter().enumerate() {
                    self.separator(index);
                    self.string(key, false);
                    self.out.push(':');
                    if self.modifiers.pretty {
                        self.out.push(' ');
                    }
                    self.value(member);
                }
                self.close(members.is_empty(), '}');
            }
        }
    }

    /// Before each member: a comma after the first, then (pretty) a new line at the member's depth.
    fn separator(&mut self, index: usize) {
        if index > 0 {
            self.out.push(',');
        }
        self.newline();
    }

    /// PHP keeps the closing bracket of an empty array or object on the same line: `[]`, `{}`.
    fn close(&mut self, empty: bool, bracket: char) {
        self.depth -= 1;
        if !empty {
            self.newline();
        }
        self.out.push(bracket);
    }

    fn newline(&mut self) {
        if self.modifiers.pretty {
            self.out.push('\n');
            for _ in 0..self.depth {
                self.out.push_str("    ");
            }
        }
    }

    /// `php_json_encode_double`: `zend_gcvt` with serialize_precision -1, plus `.0` on request.
    fn double(&mut self, double: f64) {
        let start = self.out.len();
        php_gcvt(double, &mut self.out);
        if self.modifiers.preserve_zero_fraction && !self.out[start..].contains('.') {
            self.out.push_str(".0");
        }
    }

    /// `php_json_escape_string`.
    fn string(&mut self, string: &str, numeric_check: bool) {
        if numeric_check && !string.is_empty() {
            match php_numeric(string) {
                Some(PhpNumber::Long(long)) => return self.out.push_str(&long.to_string()),
                // A numeric string beyond the float range ("1e999") stays a string.
                Some(PhpNumber::Double(double)) if double.is_finite() => {
                    return self.double(double);
                }
                _ => {}
            }
        }
        self.out.push('"');
        for c in string.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '/' if !self.modifiers.unescaped_slashes => self.out.push_str("\\/"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\0'..='\u{1f}' => self.hex_escape(c as u16),
                // DEL (0x7f) and the rest of ASCII go out as they are.
                '\0'..='\u{7f}' => self.out.push(c),
                // U+2028 and U+2029 end a line in JavaScript, so PHP escapes them even with
                // UNESCAPED_UNICODE (Batchelor never sets JSON_UNESCAPED_LINE_TERMINATORS).
                '\u{2028}' | '\u{2029}' => self.hex_escape(c as u16),
                _ if self.modifiers.unescaped_unicode => self.out.push(c),
                _ => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.hex_escape(*unit);
                    }
                }
            }
        }
        self.out.push('"');
    }

    /// `\uXXXX` with PHP's lower-case hex digits.
    fn hex_escape(&mut self, unit: u16) {
        self.out.push_str(&format!("\\u{unit:04x}"));
    }
}

/// A string that PHP finds numeric, as the number it reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PhpNumber {
    Long(i64),
    Double(f64),
}

/// PHP 8's `is_numeric_string` without errors allowed: optional whitespace (` \t\n\r\v\f`) on both
/// sides of a decimal number `[+-](digits[.digits] | .digits)[e[+-]digits]`; no hex, no `_`. Digits
/// alone are an integer unless they overflow `i64`, which makes them a float.
fn php_numeric(string: &str) -> Option<PhpNumber> {
    let number = string.trim_matches([' ', '\t', '\n', '\r', '\u{b}', '\u{c}']);
    // Rust's float grammar is strtod's decimal one plus "inf" and "nan", which this check keeps out.
    if !number
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    // Like zend_strtod, Rust rounds correctly and overflows to infinity ("1e999").
    let double = number.parse::<f64>().ok()?;
    let unsigned = number.strip_prefix(['+', '-']).unwrap_or(number);
    if unsigned.bytes().all(|b| b.is_ascii_digit())
        && let Ok(long) = number.parse::<i64>()
    {
        return Some(PhpNumber::Long(long));
    }
    Some(PhpNumber::Double(double))
}

/// `zend_gcvt(value, 17, '.', 'e')` in mode 0 (serialize_precision -1): the shortest digits that
/// read back as the same float, in plain notation when the decimal point falls within 17 digits
/// left or 4 right of them (`100000`, `0.0001`), else as `1.0e+17`, `1.0e-5`, `1.2345e+20`.
fn php_gcvt(value: f64, out: &mut String) {
    // Rust's `{:e}` gives the fewest digits that read back as `value` ("1.2345e17", "1e-5"). When two
    // such strings are equally near, dtoa takes the even last digit (1820701044900669.25 prints as
    // ...669.2) where Rust may take the other: the exact rounding to as many digits, which Rust
    // rounds half to even, is dtoa's answer whenever it also reads back.
    let shortest = format!("{:e}", value.abs());
    let digits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.len() - usize::from(m.contains('.')));
    let nearest = format!("{:.*e}", digits - 1, value.abs());
    let scientific = if nearest.parse() == Ok(value.abs()) {
        nearest
    } else {
        shortest
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // dtoa's decpt: where the decimal point falls relative to the first digit.
    let decpt = exponent.parse::<i32>().unwrap_or(0) + 1;
    if value.is_sign_negative() {
        out.push('-'); // -0.0 prints as "-0", as in PHP.
    }
    if !(-3..=17).contains(&decpt) {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push_str(if decpt - 1 < 0 { "e-" } else { "e+" });
        out.push_str(&(decpt - 1).abs().to_string());
    } else if decpt <= 0 {
        out.push_str("0.");
        for _ in decpt..0 {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let whole = decpt as usize;
        if digits.len() > whole {
            out.push_str(&digits[..whole]);
            out.push('.');
            out.push_str(&digits[whole..]);
        } else {
            out.push_str(&digits);
            for _ in digits.len()..whole {
                out.push('0');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Flags by letter: p(retty), s(lashes unescaped), n(umeric check), u(nicode unescaped), f(raction).
    fn flags(letters: &str) -> Modifiers {
        Modifiers {
            pretty: letters.contains('p'),
            unescaped_slashes: letters.contains('s'),
            numeric_check: letters.contains('n'),
            unescaped_unicode: letters.contains('u'),
            preserve_zero_fraction: letters.contains('f'),
        }
    }

    /// Every expected output is what PHP 8.2's json_encode printed for the same value and flags.
    #[test]
    #[rustfmt::skip]
    fn encodes_as_php() {
        let nested = json!({"a": [], "b": {}, "c": [1, [2, []]], "d": {"x": {}, "y": [1]}});
        let pretty_nested = "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n        1,\n        [\n            2,\n            []\n        ]\n    ],\n    \"d\": {\n        \"x\": {},\n        \"y\": [\n            1\n        ]\n    }\n}";
        let mixed = json!({"n": "1.0", "path": "/tmp/é", "x": 2.0});
        let cases: &[(Value, &str, &str)] = &[
            // Escaping: slashes, non-ASCII, astral (surrogate pairs), control characters, U+2028/9.
            (json!("a/b"), "", r#""a\/b""#), (json!("a/b"), "s", r#""a/b""#),
            (json!("é"), "", r#""\u00e9""#), (json!("é"), "u", r#""é""#),
            (json!("😀"), "", r#""\ud83d\ude00""#), (json!("😀"), "u", r#""😀""#),
            (json!("\u{1}\u{1f}\u{7f}\u{8}\u{c}\n\r\t\0"), "u", "\"\\u0001\\u001f\u{7f}\\b\\f\\n\\r\\t\\u0000\""),
            (json!("\u{2028}\u{2029}"), "u", r#""\u2028\u2029""#),
            (json!("<>&'\"\\"), "", r#""<>&'\"\\""#),
            // Numeric strings, as PHP 8's is_numeric decides; never keys.
            (json!("12"), "", r#""12""#), (json!("12"), "n", "12"),
            (json!("1e3"), "n", "1000"), (json!("1e3"), "nf", "1000.0"),
            (json!(" 12"), "n", "12"), (json!("\t\n12 "), "n", "12"),
            (json!("0x1A"), "n", r#""0x1A""#), (json!("1_000"), "n", r#""1_000""#),
            (json!("1."), "nf", "1.0"), (json!(".5"), "n", "0.5"), (json!("."), "n", r#"".""#),
            (json!("+5"), "n", "5"), (json!("007"), "n", "7"), (json!("1e"), "n", r#""1e""#),
            (json!("-0"), "nf", "0"), (json!("-0.0"), "nf", "-0.0"),
            (json!("1e999"), "n", r#""1e999""#), (json!("inf"), "n", r#""inf""#),
            (json!("9223372036854775807"), "n", "9223372036854775807"),
            (json!("9223372036854775808"), "n", "9.223372036854776e+18"),
            (json!(""), "n", r#""""#), (json!(" "), "n", r#"" ""#), (json!("٣"), "n", r#""\u0663""#),
            (json!({"12": "12"}), "n", r#"{"12":12}"#),
            // Floats: shortest round-trip digits, PHP's exponent form, zero fraction on request.
            (json!(1.0), "", "1"), (json!(1.0), "f", "1.0"), (json!(-0.0), "", "-0"),
            (json!(0.1), "f", "0.1"), (json!(1.0 / 3.0), "", "0.3333333333333333"),
            (json!(1e15), "f", "1000000000000000.0"), (json!(1e17), "f", "1.0e+17"),
            (json!(1e-4), "", "0.0001"), (json!(1.234e-5), "", "1.234e-5"),
            (json!(123456789012345678.0), "", "1.2345678901234568e+17"), (json!(5e-324), "", "5.0e-324"),
            // Exactly 1820701044900669.25: two shortest candidates equally near; dtoa takes the even.
            (json!(f64::from_bits(0x4319_dfab_fc18_0cf5)), "", "1820701044900669.2"),
            (json!(u64::MAX), "", "1.8446744073709552e+19"), (json!(i64::MIN), "f", "-9223372036854775808"),
            // Pretty printing; empty containers stay on one line.
            (json!([null, true, false]), "p", "[\n    null,\n    true,\n    false\n]"),
            (json!([]), "p", "[]"), (json!({}), "p", "{}"),
            (nested.clone(), "", r#"{"a":[],"b":{},"c":[1,[2,[]]],"d":{"x":{},"y":[1]}}"#),
            (nested, "p", pretty_nested),
            // All flags at once, and none.
            (mixed.clone(), "psnuf", "{\n    \"n\": 1.0,\n    \"path\": \"/tmp/é\",\n    \"x\": 2.0\n}"),
            (mixed, "", r#"{"n":"1.0","path":"\/tmp\/\u00e9","x":2}"#),
        ];
        for (value, letters, expected) in cases {
            assert_eq!(encode(value, &flags(letters)), *expected, "{value} with flags {letters:?}");
        }
    }

    /// Raw parameter values that PHP 8.2 found `== 0` and `== 1` after uup-site's getParam turned
    /// absent, "" and "0" into false; each must turn on its own flag and no other.
    #[test]
    fn parameters_compare_loosely_as_in_php() {
        let zero = ["", "0", "00", "0.0", " 0", "-0"].map(Some);
        let one = ["1", "1.0", "01", " 1", "1 ", ".1e1", "+1"].map(Some);
        let neither = ["2", "yes", "true", "false", "0x0", "0x1", "1abc", "1e999"].map(Some);
        let cases = ([None].iter().chain(&zero).map(|raw| (raw, true, false)))
            .chain(one.iter().map(|raw| (raw, false, true)))
            .chain(neither.iter().map(|raw| (raw, false, false)));
        for (raw, equals_zero, equals_one) in cases {
            for name in ["pretty", "escape", "numeric", "unicode", "fraction"] {
                // Every other parameter is "5", which equals neither 0 nor 1.
                let get = |asked: &str| {
                    if asked == name {
                        raw.map(String::from)
                    } else {
                        Some("5".into())
                    }
                };
                let expected = Modifiers {
                    pretty: name == "pretty" && equals_one,
                    unescaped_slashes: name == "escape" && equals_zero,
                    numeric_check: name == "numeric" && equals_one,
                    unescaped_unicode: name == "unicode" && equals_zero,
                    preserve_zero_fraction: name == "fraction" && equals_one,
                };
                assert_eq!(Modifiers::from_params(get), expected, "{name}={raw:?}");
            }
        }
    }

    #[test]
    fn without_parameters_slashes_and_unicode_are_unescaped() {
        assert_eq!(Modifiers::from_params(|_| None), flags("su"));
        assert_eq!(Modifiers::from_params(|_| Some("1".into())), flags("pnf"));
    }
}
