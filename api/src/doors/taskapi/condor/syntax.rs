//! The new (V2) quoting that `arguments` and `environment` share, written once.
//!
//! HTCondor reads a V2 value in two passes and both fields use the same two (`ArgList::V2QuotedToV2Raw`
//! then `split_args`, which `Env::MergeFromV2Raw` calls too). First it removes the double quotes around
//! the whole value, turning each `""` inside into `"`. Then it splits what is left into words: the
//! separators are space, tab, newline and carriage return, and single quotes group text (`''` inside
//! them is one `'`). We keep the two passes: doing them in one would let `""` and `'` interact
//! differently from HTCondor. Each character keeps its position in the value as given, so that an
//! error can name the character the user typed.

/// A character of the value with its 1-based position in the value as given.
type Positioned = (char, usize);

/// What is wrong with a value's characters or quoting, for either field; the field's own error names
/// the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SyntaxError {
    #[error(
        "the double quote at character {at} opens the value but nothing closes it; end the value \
         with a double quote, and write a double quote inside the value as two (\"\")"
    )]
    UnterminatedDoubleQuote { at: usize },
    #[error(
        "unexpected text at character {at}, after the double quote at character {quote} that \
         closes the value; to put a double quote inside the value, write it as two (\"\")"
    )]
    TextAfterClosingQuote { quote: usize, at: usize },
    #[error(
        "unterminated single quote starting at character {at}; close it with another single \
         quote, and write a single quote inside single quotes as two ('')"
    )]
    UnterminatedSingleQuote { at: usize },
    /// HTCondor keeps values as C strings, so it never sees a NUL; a program cannot receive one in an
    /// argument or in its environment either.
    #[error("character {at} is a NUL character, which cannot be passed to a program; remove it")]
    Nul { at: usize },
}

/// One word of a V2 value: its text once unquoted, and where it starts in the value as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) at: usize,
}

/// The whitespace that separates words, in both syntaxes of both fields. HTCondor's `split_args` and
/// `AppendArgsV1Raw_unix` list exactly these four, so a vertical tab or form feed is part of a word;
/// the man page speaks only of spaces and tabs.
pub(crate) fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// C's `isspace` in the "C" locale: what HTCondor allows before the opening and after the closing
/// double quote of a V2 value (`IsV2QuotedString`, `V2QuotedToV2Raw`). It is wider than
/// [`is_separator`], and the difference is HTCondor's.
fn is_c_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// Refuses a NUL anywhere in the value, before either syntax reads it.
pub(crate) fn reject_nul(value: &str) -> Result<(), SyntaxError> {
    match value.chars().position(|c| c == '\0') {
        Some(index) => Err(SyntaxError::Nul { at: index + 1 }),
        None => Ok(()),
    }
}

/// The words of a value in the new (V2) syntax, or `None` if the value is in the old (V1) syntax. As
/// in HTCondor, a value is V2 exactly when its first character other than whitespace is `"`; there is
/// no other marker, so an old-syntax value cannot start with a double quote.
pub(crate) fn new_syntax_words(value: &str) -> Option<Result<Vec<Word>, SyntaxError>> {
    let mut chars = value
        .chars()
        .zip(1..)
        .skip_while(|&(c, _)| is_c_space(c))
        .peekable();
    let (_, open) = chars.next_if(|&(c, _)| c == '"')?;
    Some(unquote(chars, open).and_then(|inner| split_words(&inner)))
}

/// The first pass: the text between the outer double quotes, with `""` turned into `"`. Only
/// whitespace may follow the closing quote.
fn unquote(
    chars: impl Iterator<Item = Positioned>,
    open: usize,
) -> Result<Vec<Positioned>, SyntaxError> {
    let mut chars = chars.peekable();
    let mut inner = Vec::new();
    let quote = loop {
        match chars.next() {
            None => return Err(SyntaxError::UnterminatedDoubleQuote { at: open }),
            Some(('"', at)) => match chars.next_if(|&(c, _)| c == '"') {
                Some(_) => inner.push(('"', at)),
                None => break at,
            },
            Some(positioned) => inner.push(positioned),
        }
    };
    match chars.find(|&(c, _)| !is_c_space(c)) {
        Some((_, at)) => Err(SyntaxError::TextAfterClosingQuote { quote, at }),
        None => Ok(inner),
    }
}

/// The second pass: words separated by whitespace, where single quotes group any text, whitespace
/// included, and may start or stop anywhere in a word (`a' 'b` is the one word `a b`). `''` outside
/// single quotes is an empty quoted section, so on its own it is an empty word.
fn split_words(inner: &[Positioned]) -> Result<Vec<Word>, SyntaxError> {
    let mut words = Vec::new();
    let mut current: Option<Word> = None;
    let mut chars = inner.iter().copied().peekable();
    while let Some((c, at)) = chars.next() {
        if is_separator(c) {
            words.extend(current.take());
            continue;
        }
        let word = current.get_or_insert_with(|| Word {
            text: String::new(),
            at,
        });
        if c != '\'' {
            word.text.push(c);
            continue;
        }
        loop {
            match chars.next() {
                None => return Err(SyntaxError::UnterminatedSingleQuote { at }),
                Some(('\'', _)) if chars.next_if(|&(c, _)| c == '\'').is_some() => {
                    word.text.push('\'');
                }
                Some(('\'', _)) => break,
                Some((c, _)) => word.text.push(c),
            }
        }
    }
    words.extend(current);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(value: &str) -> Option<Result<Vec<String>, SyntaxError>> {
        new_syntax_words(value)
            .map(|words| words.map(|words| words.into_iter().map(|word| word.text).collect()))
    }

    #[test]
    fn a_value_is_new_syntax_exactly_when_it_starts_with_a_double_quote_after_whitespace() {
        for value in ["\"\"", " \"\"", "\t\n\x0B\x0C\r\"\""] {
            assert_eq!(texts(value), Some(Ok(vec![])), "{value:?}");
        }
        for value in ["", " ", "a\"\"", "\\\"a\\\"", "'\"'"] {
            assert_eq!(texts(value), None, "{value:?}");
        }
    }

    #[test]
    fn words_remember_where_they_start_in_the_value_as_given() {
        let words = new_syntax_words(" \"a \"\"b\"\" 'c d'\"")
            .expect("new syntax")
            .expect("valid");
        let starts: Vec<(&str, usize)> = words
            .iter()
            .map(|word| (word.text.as_str(), word.at))
            .collect();
        assert_eq!(starts, [("a", 3), ("\"b\"", 5), ("c d", 11)]);
    }

    #[test]
    fn errors_name_the_character_the_user_typed() {
        let cases = [
            ("\"abc", SyntaxError::UnterminatedDoubleQuote { at: 1 }),
            ("  \"a\"\"", SyntaxError::UnterminatedDoubleQuote { at: 3 }),
            (
                "\"a\" b",
                SyntaxError::TextAfterClosingQuote { quote: 3, at: 5 },
            ),
            (
                "\"a\"\"\"\"b\"x",
                SyntaxError::TextAfterClosingQuote { quote: 8, at: 9 },
            ),
            (
                "\"x \"\" 'y\"",
                SyntaxError::UnterminatedSingleQuote { at: 7 },
            ),
            ("\"'a''\"", SyntaxError::UnterminatedSingleQuote { at: 2 }),
        ];
        for (value, error) in cases {
            assert_eq!(texts(value), Some(Err(error)), "{value:?}");
        }
    }

    #[test]
    fn nul_is_refused_with_its_position_in_characters() {
        assert_eq!(reject_nul("a b"), Ok(()));
        assert_eq!(reject_nul("é\0"), Err(SyntaxError::Nul { at: 2 }));
    }
}
