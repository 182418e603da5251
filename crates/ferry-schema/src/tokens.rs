//! A small SQL tokenizer, enough to pull CHECK constraints and defaults out of DDL text and to
//! rewrite simple expressions for another dialect.

/// One SQL token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A bare word: keyword, function or unquoted identifier.
    Word(String),
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`), unquoted.
    Quoted(String),
    /// A string literal's content, unescaped.
    Str(String),
    /// A numeric literal as written.
    Number(String),
    /// A blob literal `X'..'`, hex digits as written.
    Blob(String),
    /// An operator or punctuation other than parentheses and commas.
    Op(String),
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
}

impl Token {
    /// Whether this is the bare word `word` (case-insensitive).
    pub fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// The identifier this token names, quoted or not.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w),
            _ => None,
        }
    }
}

/// Split SQL text into tokens; `None` when a quote is never closed. `[x]` is a quoted
/// identifier (SQLite's and SQL Server's style).
pub fn tokenize(sql: &str) -> Option<Vec<Token>> {
    tokenize_with(sql, true)
}

/// Split PostgreSQL's SQL into tokens: `[` and `]` are operators there (`ARRAY[1, 2]`,
/// `text[]`), never quotes.
pub fn tokenize_postgres(sql: &str) -> Option<Vec<Token>> {
    tokenize_with(sql, false)
}

fn tokenize_with(sql: &str, brackets_quote: bool) -> Option<Vec<Token>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '(' {
            out.push(Token::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Token::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Token::Comma);
            i += 1;
        } else if (c == 'x' || c == 'X') && chars.get(i + 1) == Some(&'\'') {
            let (s, next) = quoted(&chars, i + 1, '\'')?;
            out.push(Token::Blob(s));
            i = next;
        } else if c == '\'' {
            let (s, next) = quoted(&chars, i, '\'')?;
            out.push(Token::Str(s));
            i = next;
        } else if c == '"' || c == '`' {
            let (s, next) = quoted(&chars, i, c)?;
            out.push(Token::Quoted(s));
            i = next;
        } else if c == '[' && brackets_quote {
            let end = chars[i..].iter().position(|&x| x == ']')? + i;
            out.push(Token::Quoted(chars[i + 1..end].iter().collect()));
            i = end + 1;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = match two.as_str() {
                "<=" | ">=" | "<>" | "!=" | "==" | "||" | "<<" | ">>" | "::" => two,
                _ => c.to_string(),
            };
            i += op.chars().count();
            out.push(Token::Op(op));
        }
    }
    Some(out)
}

fn quoted(chars: &[char], start: usize, q: char) -> Option<(String, usize)> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        let c = *chars.get(i)?;
        if c == q {
            if chars.get(i + 1) == Some(&q) {
                s.push(q);
                i += 2;
                continue;
            }
            return Some((s, i + 1));
        }
        s.push(c);
        i += 1;
    }
}

/// Index of the `)` matching the `(` at `open`.
pub fn matching_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Render tokens back to SQL text with single spaces where needed, string literals in the
/// standard style (SQLite's, and PostgreSQL's with `standard_conforming_strings` on): for
/// source SQL that is tokenized again later. SQL for a target goes through
/// [`render_for`].
pub fn render(tokens: &[Token], quote_ident: &dyn Fn(&str) -> String) -> String {
    render_for(tokens, quote_ident, &|s| {
        crate::quote::literal(ferry_core::Dialect::Sqlite, s)
    })
}

/// Render tokens back to SQL text with single spaces where needed, identifiers through
/// `quote_ident` and string literals through `quote_literal` (the target dialect's rules,
/// [`crate::quote`]).
pub fn render_for(
    tokens: &[Token],
    quote_ident: &dyn Fn(&str) -> String,
    quote_literal: &dyn Fn(&str) -> String,
) -> String {
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for t in tokens {
        let text = match t {
            Token::Word(w) => w.clone(),
            Token::Quoted(q) => quote_ident(q),
            Token::Str(s) => quote_literal(s),
            Token::Number(n) => n.clone(),
            Token::Blob(b) => format!("X'{}'", b.replace('\'', "''")),
            Token::Op(o) => o.clone(),
            Token::LParen => "(".into(),
            Token::RParen => ")".into(),
            Token::Comma => ",".into(),
        };
        let glue = matches!(t, Token::RParen | Token::Comma)
            || matches!(prev, Some(Token::LParen) | None)
            || (matches!(t, Token::LParen)
                && matches!(prev, Some(Token::Word(w)) if !is_operator_word(w)));
        if !glue {
            out.push(' ');
        }
        out.push_str(&text);
        prev = Some(t);
    }
    out
}

fn is_operator_word(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "IN", "AND", "OR", "NOT", "EXISTS", "WHEN", "THEN", "ELSE", "BETWEEN", "IS", "CHECK",
        "LIKE", "CASE", "END", "AS",
    ];
    WORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_quotes_numbers_and_operators() {
        let t = tokenize(r#"CHECK ("a b" >= 1.5e-3 AND [c] <> 'it''s' OR `d` || x'0A')"#)
            .expect("tokenizes");
        assert_eq!(t[0], Token::Word("CHECK".into()));
        assert_eq!(t[2], Token::Quoted("a b".into()));
        assert_eq!(t[3], Token::Op(">=".into()));
        assert_eq!(t[4], Token::Number("1.5e-3".into()));
        assert_eq!(t[6], Token::Quoted("c".into()));
        assert_eq!(t[8], Token::Str("it's".into()));
        assert_eq!(t[11], Token::Op("||".into()));
        assert_eq!(t[12], Token::Blob("0A".into()));
        assert!(tokenize("'unclosed").is_none());
        assert_eq!(matching_paren(&t, 1), Some(13));
    }

    #[test]
    fn renders_back() {
        let t = tokenize("length( name ) > 0 AND kind IN ('a','b')").expect("tokenizes");
        assert_eq!(
            render(&t, &|s| format!("\"{s}\"")),
            "length(name) > 0 AND kind IN ('a', 'b')"
        );
    }
}
