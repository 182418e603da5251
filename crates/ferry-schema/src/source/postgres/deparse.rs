//! PostgreSQL prints the expressions it stores (CHECK constraints, defaults, index
//! predicates) in its own spelling: every literal and column carries a cast
//! (`(status)::text`, `'a'::character varying`), `x IN ('a', 'b')` comes back as
//! `x = ANY (ARRAY['a', 'b'])`, and `LIKE` as `~~`. Before such an expression can be
//! translated for another dialect, those spellings are rewritten into portable SQL; a cast
//! that would change the meaning if dropped makes the expression untranslatable instead.

use crate::tokens::{matching_paren, Token};

/// Types whose casts a text comparison in another dialect does not need.
const TEXT_TYPES: &[&str] = &[
    "text",
    "varchar",
    "character varying",
    "character",
    "char",
    "bpchar",
    "name",
    "citext",
];

/// Types whose casts a numeric comparison in another dialect does not need.
const NUMBER_TYPES: &[&str] = &[
    "smallint",
    "integer",
    "int",
    "bigint",
    "int2",
    "int4",
    "int8",
    "numeric",
    "decimal",
    "real",
    "double precision",
    "float4",
    "float8",
];

/// Date and time types: a cast of a string literal to one of these is the literal another
/// dialect compares with the column the same way.
const TIME_TYPES: &[&str] = &[
    "date",
    "timestamp",
    "timestamp without time zone",
    "timestamptz",
    "time",
    "time without time zone",
];

/// Type names of more than one word, as PostgreSQL prints them.
const MULTI_WORD: &[&[&str]] = &[
    &["character", "varying"],
    &["double", "precision"],
    &["bit", "varying"],
    &["timestamp", "without", "time", "zone"],
    &["timestamp", "with", "time", "zone"],
    &["time", "without", "time", "zone"],
    &["time", "with", "time", "zone"],
];

/// Rewrite PostgreSQL's spellings in `tokens` (from
/// [`crate::tokens::tokenize_postgres`]) into portable SQL.
pub fn portable(tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    let tokens = without_casts(tokens)?;
    let tokens = any_array_as_in(tokens)?;
    like_operators(tokens)
}

/// Drop the casts another dialect does not need (see the type lists above).
fn without_casts(tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !matches!(&tokens[i], Token::Op(o) if o == "::") {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let (name, end) = cast_type(&tokens, i + 1)?;
        let on_literal = matches!(out.last(), Some(Token::Str(_)));
        let droppable = TEXT_TYPES.contains(&name.as_str())
            || NUMBER_TYPES.contains(&name.as_str())
            || (on_literal && TIME_TYPES.contains(&name.as_str()));
        if !droppable {
            return Err(format!("the cast to {name} has no portable form"));
        }
        // A number PostgreSQL printed as a string (`'-40'::integer`) is a number again.
        if let Some(Token::Str(s)) = out.last() {
            let numeric = s.trim().bytes().all(|b| b"0123456789+-.eE".contains(&b));
            if NUMBER_TYPES.contains(&name.as_str()) && numeric && s.trim().parse::<f64>().is_ok() {
                let n = s.trim().to_string();
                out.pop();
                out.push(Token::Number(n));
            }
        }
        i = end;
    }
    Ok(out)
}

/// The lower-case name of the type a cast names from `start`, and the index after it (its
/// modifiers `(n[, m])` and any `[]` included).
fn cast_type(tokens: &[Token], start: usize) -> Result<(String, usize), String> {
    let word = |i: usize| match tokens.get(i) {
        Some(Token::Word(w)) | Some(Token::Quoted(w)) => Some(w.to_ascii_lowercase()),
        _ => None,
    };
    let first = word(start).ok_or("a cast without a type name")?;
    let mut parts = vec![first];
    // The longest multi-word name that the following words spell.
    for names in MULTI_WORD {
        if names[0] == parts[0]
            && names.len() > parts.len()
            && names
                .iter()
                .enumerate()
                .skip(1)
                .all(|(k, n)| word(start + k).as_deref() == Some(*n))
        {
            parts = names.iter().map(|n| n.to_string()).collect();
        }
    }
    let mut end = start + parts.len();
    if tokens.get(end) == Some(&Token::LParen) {
        end = matching_paren(tokens, end).ok_or("unbalanced parentheses")? + 1;
    }
    while matches!(tokens.get(end), Some(Token::Op(o)) if o == "[")
        && matches!(tokens.get(end + 1), Some(Token::Op(o)) if o == "]")
    {
        end += 2;
    }
    Ok((parts.join(" "), end))
}

/// `x = ANY (ARRAY[a, b])` as `x IN (a, b)`, and `x <> ALL (ARRAY[a, b])` as
/// `x NOT IN (a, b)`: the forms PostgreSQL prints `IN` and `NOT IN` lists in.
fn any_array_as_in(tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let negated = match (&tokens[i], tokens.get(i + 1)) {
            (Token::Op(o), Some(w)) if o == "=" && w.is_word("ANY") => false,
            (Token::Op(o), Some(w)) if (o == "<>" || o == "!=") && w.is_word("ALL") => true,
            (_, Some(w)) if w.is_word("ANY") || w.is_word("ALL") => {
                return Err("a comparison with ANY or ALL has no portable form".into())
            }
            _ => {
                out.push(tokens[i].clone());
                i += 1;
                continue;
            }
        };
        let open = i + 2;
        if tokens.get(open) != Some(&Token::LParen) {
            return Err("ANY or ALL without a list".into());
        }
        let close = matching_paren(&tokens, open).ok_or("unbalanced parentheses")?;
        let items = array_items(&tokens[open + 1..close])
            .ok_or("ANY or ALL over something other than a list of values")?;
        if negated {
            out.push(Token::Word("NOT".into()));
        }
        out.push(Token::Word("IN".into()));
        out.push(Token::LParen);
        out.extend_from_slice(items);
        out.push(Token::RParen);
        i = close + 1;
    }
    Ok(out)
}

/// The items of `ARRAY[...]`, inside any number of parentheses.
fn array_items(mut inner: &[Token]) -> Option<&[Token]> {
    while inner.first() == Some(&Token::LParen) && matching_paren(inner, 0) == Some(inner.len() - 1)
    {
        inner = &inner[1..inner.len() - 1];
    }
    let [head, Token::Op(open), items @ .., Token::Op(close)] = inner else {
        return None;
    };
    let nested = items
        .iter()
        .any(|t| matches!(t, Token::Op(o) if o == "[" || o == "]"));
    (head.is_word("ARRAY") && open == "[" && close == "]" && !items.is_empty() && !nested)
        .then_some(items)
}

/// `~~` as `LIKE` and `!~~` as `NOT LIKE`; the case-insensitive `~~*` has no portable form.
fn like_operators(tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    let tilde = |t: Option<&Token>| matches!(t, Some(Token::Op(o)) if o == "~");
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let negated = matches!(&tokens[i], Token::Op(o) if o == "!");
        let at = i + usize::from(negated);
        if tilde(tokens.get(at)) && tilde(tokens.get(at + 1)) {
            if matches!(tokens.get(at + 2), Some(Token::Op(o)) if o == "*") {
                return Err("ILIKE (~~*) has no portable form".into());
            }
            if negated {
                out.push(Token::Word("NOT".into()));
            }
            out.push(Token::Word("LIKE".into()));
            i = at + 2;
        } else {
            out.push(tokens[i].clone());
            i += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::{render, tokenize_postgres};

    fn rewrite(sql: &str) -> Result<String, String> {
        let tokens = tokenize_postgres(sql).ok_or("tokenize")?;
        portable(tokens).map(|t| render(&t, &|s| s.to_string()))
    }

    #[test]
    fn postgres_spellings_become_portable_sql() {
        assert_eq!(
            rewrite("((status)::text = ANY ((ARRAY['On Time'::character varying, 'Delayed'::character varying])::text[]))")
                .as_deref(),
            Ok("((status) IN ('On Time', 'Delayed'))")
        );
        assert_eq!(
            rewrite("(kind <> ALL (ARRAY[1, 2]))").as_deref(),
            Ok("(kind NOT IN (1, 2))")
        );
        assert_eq!(
            rewrite("(amount >= (0)::numeric)").as_deref(),
            Ok("(amount >= (0))")
        );
        assert_eq!(
            rewrite("((code)::text ~~ 'A%'::text) AND ((name)::text !~~ '%x'::text)").as_deref(),
            Ok("((code) LIKE 'A%') AND ((name) NOT LIKE '%x')")
        );
        assert_eq!(
            rewrite("((hours >= '-40'::integer) AND (code = '7'::text) AND (r <> 'NaN'::real))")
                .as_deref(),
            Ok("((hours >= -40) AND (code = '7') AND (r <> 'NaN'))")
        );
        assert_eq!(
            rewrite("(born > '1900-01-01'::date)").as_deref(),
            Ok("(born > '1900-01-01')")
        );
        assert_eq!(
            rewrite("(length((title)::character varying(40)) > 0)").as_deref(),
            Ok("(length((title)) > 0)")
        );
    }

    #[test]
    fn casts_and_forms_that_change_meaning_are_refused() {
        for sql in [
            "((at)::date > '2020-01-01'::date)",
            "(span > '1 day'::interval)",
            "(x = ANY (other_array_column))",
            "(x > ALL (ARRAY[1, 2]))",
            "((name)::text ~~* 'a%'::text)",
            "(kind = ANY (ARRAY[ARRAY[1], ARRAY[2]]))",
        ] {
            assert!(rewrite(sql).is_err(), "{sql}: {:?}", rewrite(sql));
        }
    }
}
