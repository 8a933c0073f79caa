//! LUA record code → AST, for the natively compiled expression subset of
//! lua-records spec §2.
//!
//! Two steps: [`join_chunks`] turns the record's character-strings into code
//! exactly as PowerDNS's `getCode` does (§1.1, both whitespace modes), then
//! [`parse`] reads one expression. Anything outside the subset (a `;`-script,
//! operators, method calls, `os.execute(...)` …) is a [`SyntaxError`] with
//! the column and the reason, and `rule::compile` hands such code to the
//! embedded Lua engine; nothing here runs code.
//!
//! Grammar (§2, plus Lua's call sugar `f{…}` and `f'…'`, which real zones use
//! as in `newNMG{'192.0.2.0/24'}`, and a leading `-` on number literals):
//!
//! ```text
//! expr   := call | string | number | table | 'true' | 'false' | 'nil'
//! call   := IDENT ( '(' [ expr { ',' expr } ] ')' | table | string )
//! table  := '{' [ field { (','|';') field } [ ','|';' ] ] '}'
//! field  := expr | IDENT '=' expr | '[' string ']' '=' expr
//! ```

use std::fmt;

/// Longest code accepted (bytes); PowerDNS has no limit, but a LUA record
/// above this is certainly not an expression from the subset.
pub const MAX_CODE_LEN: usize = 64 * 1024;
/// Deepest nesting of calls and tables.
pub const MAX_DEPTH: usize = 32;

/// How chunks are joined (`lua-records-insert-whitespace`, §1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Whitespace {
    /// `no` (default since PowerDNS 5.0): concatenate, dropping tokens that
    /// are exactly one space.
    #[default]
    Join,
    /// `yes` (≤ 4.9): every token followed by one space.
    Insert,
}

/// Renders character-strings as presentation text (`"a" "b"`), escaping like
/// TXT: `"` and `\` get a backslash, bytes outside 0x20..=0x7e become `\DDD`.
pub fn presentation(chunks: &[&[u8]]) -> String {
    let mut out = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('"');
        for &b in *chunk {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\{b:03}")),
            }
        }
        out.push('"');
    }
    out
}

/// PowerDNS's `getCode`: split the presentation text on `"`, drop empty
/// tokens, then join per `mode` (§1.1).
pub fn join_chunks(presentation: &str, mode: Whitespace) -> String {
    let mut code = String::with_capacity(presentation.len());
    for token in presentation.split('"').filter(|t| !t.is_empty()) {
        match mode {
            Whitespace::Join => {
                if token != " " {
                    code.push_str(token);
                }
            }
            Whitespace::Insert => {
                code.push_str(token);
                code.push(' ');
            }
        }
    }
    code
}

/// A node of the expression tree, with the 1-based column where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// 1-based column (in bytes) of the node's first character in the code.
    pub col: usize,
}

/// The expression forms of the subset.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// `name(args…)`, `name{…}` or `name'…'`.
    Call {
        /// The function name.
        name: String,
        /// The arguments in order.
        args: Vec<Expr>,
    },
    /// A string literal, escapes decoded.
    Str(String),
    /// A number literal (Lua numbers are doubles).
    Num(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `{ … }`.
    Table(Vec<Field>),
}

/// One table field.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A positional value (Lua index 1, 2, …).
    Positional(Expr),
    /// `key = value` or `['key'] = value`.
    Named {
        /// The key.
        key: String,
        /// The value.
        value: Expr,
    },
}

/// Why the code is not an expression of the subset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based column where the problem was seen (0: the code as a whole).
    pub col: usize,
    /// What is wrong, for the operator.
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.col == 0 {
            f.write_str(&self.reason)
        } else {
            write!(f, "column {}: {}", self.col, self.reason)
        }
    }
}

impl std::error::Error for SyntaxError {}

/// Parses `code` as one expression of the subset.
pub fn parse(code: &str) -> Result<Expr, SyntaxError> {
    if code.len() > MAX_CODE_LEN {
        return Err(SyntaxError {
            col: 0,
            reason: format!("code is longer than {MAX_CODE_LEN} bytes"),
        });
    }
    if code.trim_start().starts_with(';') {
        return Err(SyntaxError {
            col: 0,
            reason: "';' scripts (Lua chunks) are for the embedded engine".into(),
        });
    }
    let tokens = lex(code)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = p.expr()?;
    match p.peek() {
        Tok::Eof => Ok(expr),
        tok => Err(p.outside(tok)),
    }
}

// ----------- lexer -----------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    /// One of `( ) { } [ ] , ; =`.
    Punct(char),
    /// Any other operator or symbol, kept for the error message.
    Other(String),
    Eof,
}

struct Lexed {
    tok: Tok,
    col: usize,
}

fn err<T>(col: usize, reason: impl Into<String>) -> Result<T, SyntaxError> {
    Err(SyntaxError {
        col,
        reason: reason.into(),
    })
}

fn lex(code: &str) -> Result<Vec<Lexed>, SyntaxError> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let col = i + 1;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b'{' | b'}' | b',' | b';' => {
                out.push(Lexed {
                    tok: Tok::Punct(c as char),
                    col,
                });
                i += 1;
            }
            b'[' => {
                if b.get(i + 1) == Some(&b'[') || b.get(i + 1) == Some(&b'=') {
                    return err(
                        col,
                        "long strings ([[...]]) are outside the supported subset",
                    );
                }
                out.push(Lexed {
                    tok: Tok::Punct('['),
                    col,
                });
                i += 1;
            }
            b']' => {
                out.push(Lexed {
                    tok: Tok::Punct(']'),
                    col,
                });
                i += 1;
            }
            b'=' => {
                if b.get(i + 1) == Some(&b'=') {
                    out.push(Lexed {
                        tok: Tok::Other("==".into()),
                        col,
                    });
                    i += 2;
                } else {
                    out.push(Lexed {
                        tok: Tok::Punct('='),
                        col,
                    });
                    i += 1;
                }
            }
            b'\'' | b'"' => {
                let (s, next) = lex_string(b, i)?;
                out.push(Lexed {
                    tok: Tok::Str(s),
                    col,
                });
                i = next;
            }
            b'0'..=b'9' => {
                let (n, next) = lex_number(b, i, false)?;
                out.push(Lexed {
                    tok: Tok::Num(n),
                    col,
                });
                i = next;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                return err(col, "comments are outside the supported subset");
            }
            b'-' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let (n, next) = lex_number(b, i + 1, true)?;
                out.push(Lexed {
                    tok: Tok::Num(n),
                    col,
                });
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Lexed {
                    tok: Tok::Ident(code[start..i].to_string()),
                    col,
                });
            }
            _ => {
                // An operator or stray symbol: take the run of punctuation for
                // the message (`..`, `~=`, `:`, `#`, …).
                let start = i;
                i += 1;
                while i < b.len()
                    && b"+-*/%^#<>~.:&|".contains(&b[i])
                    && b"+-*/%^#<>~.:&|".contains(&c)
                {
                    i += 1;
                }
                let text = String::from_utf8_lossy(&b[start..i]).into_owned();
                out.push(Lexed {
                    tok: Tok::Other(text),
                    col,
                });
            }
        }
    }
    out.push(Lexed {
        tok: Tok::Eof,
        col: b.len() + 1,
    });
    Ok(out)
}

fn lex_string(b: &[u8], start: usize) -> Result<(String, usize), SyntaxError> {
    let quote = b[start];
    let mut bytes = Vec::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = b.get(i) else {
            return err(start + 1, "unterminated string");
        };
        match c {
            c if c == quote => {
                i += 1;
                break;
            }
            b'\n' => return err(i + 1, "newline inside a string"),
            b'\\' => {
                let Some(&e) = b.get(i + 1) else {
                    return err(start + 1, "unterminated string");
                };
                match e {
                    b'\\' | b'\'' | b'"' => {
                        bytes.push(e);
                        i += 2;
                    }
                    b'n' => {
                        bytes.push(b'\n');
                        i += 2;
                    }
                    b't' => {
                        bytes.push(b'\t');
                        i += 2;
                    }
                    b'0'..=b'9' => {
                        let mut v: u32 = 0;
                        let mut j = i + 1;
                        while j < b.len() && j < i + 4 && b[j].is_ascii_digit() {
                            v = v * 10 + u32::from(b[j] - b'0');
                            j += 1;
                        }
                        let Ok(byte) = u8::try_from(v) else {
                            return err(i + 1, format!("escape \\{v} is above 255"));
                        };
                        bytes.push(byte);
                        i = j;
                    }
                    other => {
                        return err(
                            i + 1,
                            format!(
                                "escape \\{} is outside the supported subset (\\\\ \\' \\\" \\n \\t \\ddd)",
                                other as char
                            ),
                        );
                    }
                }
            }
            _ => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, i)),
        Err(_) => err(start + 1, "string is not valid UTF-8"),
    }
}

fn lex_number(b: &[u8], start: usize, negative: bool) -> Result<(f64, usize), SyntaxError> {
    let mut i = start;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if b.get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
    {
        return err(
            start + 1,
            "only decimal integers and fractions are supported as numbers",
        );
    }
    // The slice is ASCII digits with at most one '.', so it always parses.
    let text = std::str::from_utf8(&b[start..i]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    Ok((if negative { -v } else { v }, i))
}

// ----------- parser ----------------------------------------------------------

struct Parser {
    tokens: Vec<Lexed>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Tok {
        self.tokens[self.pos].tok.clone()
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        let i = (self.pos + ahead).min(self.tokens.len() - 1);
        &self.tokens[i].tok
    }

    fn col(&self) -> usize {
        self.tokens[self.pos].col
    }

    fn bump(&mut self) -> Tok {
        let t = self.tokens[self.pos].tok.clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            Tok::Punct(p) if p == c => {
                self.bump();
                Ok(())
            }
            Tok::Eof => err(
                self.col(),
                format!("unexpected end of code, expected {what}"),
            ),
            Tok::Other(_) | Tok::Punct(':') => Err(self.outside(self.peek())),
            t => err(
                self.col(),
                format!("expected {what}, found {}", describe(&t)),
            ),
        }
    }

    /// The error for a token that cannot continue the expression.
    fn outside(&self, tok: Tok) -> SyntaxError {
        let col = self.col();
        let reason = match tok {
            Tok::Other(op) if op == "." || op == ":" => format!(
                "'{op}' (field or method access, e.g. os.execute or x:toString) is outside the \
                 supported expression subset"
            ),
            Tok::Other(op) => format!("operator '{op}' is outside the supported expression subset"),
            Tok::Punct(';') => "';' after the expression: statements are not supported".into(),
            Tok::Ident(k) if is_keyword(&k) => {
                format!("Lua keyword '{k}' is outside the supported expression subset")
            }
            Tok::Eof => "unexpected end of code".into(),
            t => format!("unexpected {} after the expression", describe(&t)),
        };
        SyntaxError { col, reason }
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        let col = self.col();
        let kind = match self.bump() {
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Num(n) => ExprKind::Num(n),
            Tok::Punct('{') => self.table_after_brace()?,
            Tok::Ident(id) => match id.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                "nil" => ExprKind::Nil,
                k if is_keyword(k) => {
                    return err(
                        col,
                        format!("Lua keyword '{id}' is outside the supported expression subset"),
                    );
                }
                _ => self.call_after_name(id, col)?,
            },
            Tok::Eof if self.tokens.len() == 1 => return err(col, "empty expression"),
            Tok::Eof => return err(col, "unexpected end of code, expected an expression"),
            Tok::Punct('(') => {
                return err(
                    col,
                    "parenthesised expressions are outside the supported subset",
                );
            }
            t @ Tok::Other(_) => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.outside(t));
            }
            t => {
                return err(
                    col,
                    format!("expected an expression, found {}", describe(&t)),
                );
            }
        };
        Ok(Expr { kind, col })
    }

    fn enter(&mut self, col: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(col, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn call_after_name(&mut self, name: String, col: usize) -> Result<ExprKind, SyntaxError> {
        self.enter(col)?;
        let args = match self.peek() {
            Tok::Punct('(') => {
                self.bump();
                let mut args = Vec::new();
                if self.peek() != Tok::Punct(')') {
                    loop {
                        args.push(self.expr()?);
                        match self.peek() {
                            Tok::Punct(',') => {
                                self.bump();
                            }
                            _ => break,
                        }
                    }
                }
                self.expect(')', "',' or ')' in the argument list")?;
                args
            }
            Tok::Punct('{') => {
                let tcol = self.col();
                self.bump();
                vec![Expr {
                    kind: self.table_after_brace()?,
                    col: tcol,
                }]
            }
            Tok::Str(s) => {
                let scol = self.col();
                self.bump();
                vec![Expr {
                    kind: ExprKind::Str(s),
                    col: scol,
                }]
            }
            Tok::Other(op) if op == "." || op == ":" => return Err(self.outside(Tok::Other(op))),
            _ => {
                return err(
                    col,
                    format!(
                        "'{name}' is a bare name: variables are outside the supported subset (call it as {name}(...))"
                    ),
                );
            }
        };
        self.depth -= 1;
        Ok(ExprKind::Call { name, args })
    }

    fn table_after_brace(&mut self) -> Result<ExprKind, SyntaxError> {
        let open_col = self.tokens[self.pos.saturating_sub(1)].col;
        self.enter(open_col)?;
        let mut fields = Vec::new();
        loop {
            if self.peek() == Tok::Punct('}') {
                self.bump();
                break;
            }
            let field = match (self.peek(), self.peek_at(1).clone()) {
                (Tok::Ident(key), Tok::Punct('=')) => {
                    self.bump();
                    self.bump();
                    Field::Named {
                        key,
                        value: self.expr()?,
                    }
                }
                (Tok::Punct('['), _) => {
                    let kcol = self.col();
                    self.bump();
                    let key = match self.bump() {
                        Tok::Str(s) => s,
                        _ => {
                            return err(
                                kcol,
                                "only string keys (['text'] = …) are supported in brackets",
                            );
                        }
                    };
                    self.expect(']', "']' after the key")?;
                    self.expect('=', "'=' after ['key']")?;
                    Field::Named {
                        key,
                        value: self.expr()?,
                    }
                }
                _ => Field::Positional(self.expr()?),
            };
            fields.push(field);
            match self.peek() {
                Tok::Punct(',') | Tok::Punct(';') => {
                    self.bump();
                }
                Tok::Punct('}') => {}
                Tok::Eof => return err(open_col, "unclosed '{'"),
                Tok::Other(op) => return Err(self.outside(Tok::Other(op))),
                t => {
                    return err(
                        self.col(),
                        format!("expected ',' or '}}' in the table, found {}", describe(&t)),
                    );
                }
            }
        }
        self.depth -= 1;
        Ok(ExprKind::Table(fields))
    }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "and"
            | "or"
            | "not"
            | "function"
            | "local"
            | "return"
            | "if"
            | "then"
            | "else"
            | "elseif"
            | "end"
            | "for"
            | "while"
            | "do"
            | "repeat"
            | "until"
            | "in"
            | "goto"
            | "break"
    )
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("name '{s}'"),
        Tok::Str(_) => "a string".into(),
        Tok::Num(_) => "a number".into(),
        Tok::Punct(c) => format!("'{c}'"),
        Tok::Other(s) => format!("'{s}'"),
        Tok::Eof => "the end of the code".into(),
    }
}
