//! Reading TSIG keys from text: kdig's `-y` spec (`--tsig-key`) and BIND
//! key files (`--tsig-key-file`).
//!
//! Errors say which part is wrong and where, but never quote the secret,
//! nor any token that might be one: a misplaced secret in a broken file
//! must not end up in a log line.

use data_encoding::{BASE64, BASE64_NOPAD};

use super::{Algorithm, Key, KeyError};
use crate::wire::{Name, NameError};

fn invalid(message: impl Into<String>) -> KeyError {
    KeyError::Invalid(message.into())
}

impl Key {
    /// `ALG:NAME:BASE64SECRET` (kdig's `-y`); ALG may be omitted
    /// (`NAME:SECRET`, meaning hmac-sha256).
    pub fn parse_spec(spec: &str) -> Result<Key, KeyError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (algorithm, name, secret) = match parts.as_slice() {
            [name, secret] => (Algorithm::HmacSha256, *name, *secret),
            [algorithm, name, secret] => {
                let algorithm = Algorithm::from_name(algorithm).ok_or_else(|| {
                    invalid(format!(
                        "TSIG key: unknown algorithm{} {EXPECTED_ALGORITHMS}",
                        quote_algorithm(algorithm)
                    ))
                })?;
                (algorithm, *name, *secret)
            }
            _ => {
                return Err(invalid("TSIG key: expected [ALGORITHM:]NAME:BASE64SECRET"));
            }
        };
        // Neither part is quoted back: with the fields in the wrong order,
        // either could be the secret.
        let name = parse_name(name).map_err(|reason| invalid(format!("TSIG key: {reason}")))?;
        let secret =
            decode_secret(secret).map_err(|reason| invalid(format!("TSIG key: {reason}")))?;
        Ok(Key::new(name, algorithm, secret))
    }

    /// The BIND `key "name" { algorithm ...; secret "..."; };` statements
    /// of a key file. Comments may be `#`, `//` or `/* */`; the name may be
    /// quoted or not. Errors carry the line number.
    pub fn parse_key_file(text: &str) -> Result<Vec<Key>, KeyError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            last_line: text.lines().count().max(1),
        };
        let mut keys: Vec<Key> = Vec::new();
        while parser.pos < tokens.len() {
            let (key, line) = parser.key_statement()?;
            if keys.iter().any(|other| other.name == key.name) {
                return Err(invalid(format!(
                    "line {line}: key \"{}\" is defined twice",
                    key.name
                )));
            }
            keys.push(key);
        }
        Ok(keys)
    }
}

const EXPECTED_ALGORITHMS: &str = "(expected hmac-sha1, hmac-sha256, hmac-sha384 or hmac-sha512)";

/// ` "hmac-md5"` when the text is plainly an algorithm name, else nothing:
/// base64 has no '-', so a secret in the wrong place is never quoted.
fn quote_algorithm(text: &str) -> String {
    let plain = text.len() <= 32
        && text.contains('-')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
    if plain {
        format!(" {text:?}")
    } else {
        String::new()
    }
}

/// Errors leave the text out (the name error types quote it).
fn parse_name(text: &str) -> Result<Name, String> {
    if text.is_empty() {
        return Err("empty key name".into());
    }
    let name: Name = text.parse().map_err(|error| match error {
        NameError::BadEscape(_) => "bad escape sequence in the key name".to_string(),
        NameError::NoOrigin(_) => "bad key name".to_string(),
        other => format!("bad key name: {other}"),
    })?;
    if name.is_root() {
        return Err("the key name cannot be the root".into());
    }
    Ok(name)
}

/// Base64 with or without padding; whitespace inside is ignored (BIND
/// allows a long secret to be split).
fn decode_secret(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("empty secret".into());
    }
    let secret = BASE64
        .decode(compact.as_bytes())
        .or_else(|_| BASE64_NOPAD.decode(compact.as_bytes()))
        .map_err(|_| "the secret is not valid base64".to_string())?;
    if secret.is_empty() {
        return Err("empty secret".into());
    }
    Ok(secret)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word.
    Word(String),
    /// A quoted string, quotes removed.
    Quoted(String),
    Open,
    Close,
    Semicolon,
}

impl Token {
    /// How an error names the token: never its text, which may be a secret.
    fn kind(&self) -> &'static str {
        match self {
            Token::Word(_) => "a word",
            Token::Quoted(_) => "a quoted string",
            Token::Open => "'{'",
            Token::Close => "'}'",
            Token::Semicolon => "';'",
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, KeyError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut line),
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\n' => line += 1,
                        '*' if chars.peek() == Some(&'/') => {
                            chars.next();
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    return Err(invalid(format!(
                        "line {start}: comment '/*' is never closed"
                    )));
                }
            }
            '{' => tokens.push((Token::Open, line)),
            '}' => tokens.push((Token::Close, line)),
            ';' => tokens.push((Token::Semicolon, line)),
            '"' => {
                let start = line;
                let mut value = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                value.push(escaped);
                            }
                        }
                        '\n' => {
                            line += 1;
                            value.push(c);
                        }
                        _ => value.push(c),
                    }
                }
                if !closed {
                    return Err(invalid(format!(
                        "line {start}: quoted string is never closed"
                    )));
                }
                tokens.push((Token::Quoted(value), start));
            }
            _ => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, '{' | '}' | ';' | '"' | '#') {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push((Token::Word(word), line));
            }
        }
    }
    Ok(tokens)
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, line: &mut usize) {
    for c in chars.by_ref() {
        if c == '\n' {
            *line += 1;
            return;
        }
    }
}

struct Parser<'a> {
    tokens: &'a [(Token, usize)],
    pos: usize,
    /// For "unexpected end of file" errors.
    last_line: usize,
}

impl Parser<'_> {
    fn next(&mut self, expected: &str) -> Result<(&Token, usize), KeyError> {
        match self.tokens.get(self.pos) {
            Some((token, line)) => {
                self.pos += 1;
                Ok((token, *line))
            }
            None => Err(invalid(format!(
                "line {}: file ends where {expected} was expected",
                self.last_line
            ))),
        }
    }

    fn expect(&mut self, wanted: Token, context: &str) -> Result<(), KeyError> {
        let (token, line) = self.next(&format!("{} {context}", wanted.kind()))?;
        if *token != wanted {
            return Err(invalid(format!(
                "line {line}: expected {} {context}, found {}",
                wanted.kind(),
                token.kind()
            )));
        }
        Ok(())
    }

    /// `key NAME { algorithm ALG; secret "BASE64"; };`
    fn key_statement(&mut self) -> Result<(Key, usize), KeyError> {
        let (token, line) = self.next("a key statement")?;
        match token {
            Token::Word(word) if word.eq_ignore_ascii_case("key") => {}
            Token::Word(_) => {
                return Err(invalid(format!(
                    "line {line}: expected a 'key' statement (only key statements belong in a key file)"
                )));
            }
            other => {
                return Err(invalid(format!(
                    "line {line}: expected a 'key' statement, found {}",
                    other.kind()
                )));
            }
        }
        let (token, name_line) = self.next("the key name")?;
        let name = match token {
            Token::Word(text) | Token::Quoted(text) => {
                parse_name(text).map_err(|reason| invalid(format!("line {name_line}: {reason}")))?
            }
            other => {
                return Err(invalid(format!(
                    "line {name_line}: expected the key name, found {}",
                    other.kind()
                )));
            }
        };
        self.expect(Token::Open, &format!("after key \"{name}\""))?;
        let mut algorithm = None;
        let mut secret = None;
        loop {
            let (token, line) = self.next(&format!("'}}' closing key \"{name}\""))?;
            let statement = match token {
                Token::Close => break,
                Token::Word(word) => word.to_ascii_lowercase(),
                other => {
                    return Err(invalid(format!(
                        "line {line}: key \"{name}\": expected 'algorithm' or 'secret', found {}",
                        other.kind()
                    )));
                }
            };
            match statement.as_str() {
                "algorithm" => {
                    let (token, line) = self.next("an algorithm name")?;
                    let text = match token {
                        Token::Word(text) | Token::Quoted(text) => text,
                        other => {
                            return Err(invalid(format!(
                                "line {line}: key \"{name}\": expected an algorithm name, found {}",
                                other.kind()
                            )));
                        }
                    };
                    let parsed = Algorithm::from_name(text).ok_or_else(|| {
                        invalid(format!(
                            "line {line}: key \"{name}\": unknown algorithm{} {EXPECTED_ALGORITHMS}",
                            quote_algorithm(text)
                        ))
                    })?;
                    if algorithm.replace(parsed).is_some() {
                        return Err(invalid(format!(
                            "line {line}: key \"{name}\": algorithm given twice"
                        )));
                    }
                }
                "secret" => {
                    let (token, line) = self.next("the secret")?;
                    let text = match token {
                        Token::Word(text) | Token::Quoted(text) => text,
                        other => {
                            return Err(invalid(format!(
                                "line {line}: key \"{name}\": expected the secret, found {}",
                                other.kind()
                            )));
                        }
                    };
                    let decoded = decode_secret(text).map_err(|reason| {
                        invalid(format!("line {line}: key \"{name}\": {reason}"))
                    })?;
                    if secret.replace(decoded).is_some() {
                        return Err(invalid(format!(
                            "line {line}: key \"{name}\": secret given twice"
                        )));
                    }
                }
                _ => {
                    return Err(invalid(format!(
                        "line {line}: key \"{name}\": unknown statement (expected 'algorithm' or 'secret')"
                    )));
                }
            }
            self.expect(
                Token::Semicolon,
                &format!("after the {statement} of key \"{name}\""),
            )?;
        }
        self.expect(
            Token::Semicolon,
            &format!("after the '}}' of key \"{name}\""),
        )?;
        let algorithm = algorithm
            .ok_or_else(|| invalid(format!("line {line}: key \"{name}\" has no algorithm")))?;
        let secret =
            secret.ok_or_else(|| invalid(format!("line {line}: key \"{name}\" has no secret")))?;
        Ok((Key::new(name, algorithm, secret), line))
    }
}
