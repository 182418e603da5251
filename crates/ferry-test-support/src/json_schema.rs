//! A JSON Schema checker for the subset `docs/report.schema.json` uses: `type` (one or a
//! list), `const`, `enum`, `required`, `properties`, `additionalProperties: false`,
//! `items`, `minimum` and `$ref` to `#/$defs/NAME`. A keyword outside that subset is an
//! error, so the schema cannot silently say more than is checked.

use serde_json::Value;

/// Every way `doc` breaks `schema`, each with its JSON path; empty when it conforms.
pub fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, schema, doc, "$", &mut out);
    out
}

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
];

fn type_ok(name: &str, v: &Value) -> bool {
    match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        _ => false,
    }
}

fn check(root: &Value, schema: &Value, doc: &Value, path: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    for key in s.keys() {
        if !KNOWN.contains(&key.as_str()) {
            out.push(format!("{path}: schema keyword `{key}` is not supported"));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
        {
            Some(target) => check(root, target, doc, path, out),
            None => out.push(format!("{path}: unresolved $ref {r}")),
        }
    }
    if let Some(t) = s.get("type") {
        let names: Vec<&str> = match t {
            Value::String(n) => vec![n.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !names.iter().any(|n| type_ok(n, doc)) {
            out.push(format!("{path}: {doc} is not of type {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != doc {
            out.push(format!("{path}: {doc} is not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(doc) {
            out.push(format!(
                "{path}: {doc} is not one of {}",
                Value::from(e.clone())
            ));
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), doc.as_f64()) {
        if n < min {
            out.push(format!("{path}: {n} is below {min}"));
        }
    }
    if let Some(obj) = doc.as_object() {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap_or_default();
            if !obj.contains_key(r) {
                out.push(format!("{path}: required `{r}` is missing"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(sub) => check(root, sub, v, &format!("{path}.{k}"), out),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{path}: `{k}` is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), doc.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(root, items, v, &format!("{path}[{i}]"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["v", "rows"],
            "additionalProperties": false,
            "properties": {
                "v": {"const": 1},
                "status": {"enum": ["ok", "failed"]},
                "rows": {"type": "array", "items": {"$ref": "#/$defs/n"}},
                "rss": {"type": ["integer", "null"], "minimum": 0}
            },
            "$defs": {"n": {"type": "integer", "minimum": 0}}
        })
    }

    #[test]
    fn a_conforming_document_passes() {
        let doc = json!({"v": 1, "status": "ok", "rows": [0, 5], "rss": null});
        assert_eq!(violations(&schema(), &doc), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_violation_is_named_with_its_path() {
        let doc = json!({"v": 2, "status": "meh", "rows": [1, -1, "x"], "rss": 1.5, "extra": true});
        let v = violations(&schema(), &doc).join("\n");
        for want in [
            "$.v: 2 is not 1",
            "$.status: \"meh\" is not one of",
            "$.rows[1]: -1 is below 0",
            "$.rows[2]: \"x\" is not of type",
            "$.rss: 1.5 is not of type",
            "`extra` is not in the schema",
        ] {
            assert!(v.contains(want), "{want} not in:\n{v}");
        }
        let missing = violations(&schema(), &json!({"v": 1})).join("\n");
        assert!(missing.contains("required `rows` is missing"), "{missing}");
    }

    #[test]
    fn unsupported_keywords_are_errors() {
        let v = violations(&json!({"pattern": "^a"}), &json!("a"));
        assert!(v[0].contains("`pattern` is not supported"), "{v:?}");
    }
}
