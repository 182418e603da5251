//! Reading back the binary COPY chunks the same-dialect copy forwards ([`RawRows`]), so
//! that content verification between two PostgreSQL databases hashes the bytes instead of
//! decoding every value.

use crate::decode::{tuple_fields, tuples};
use ferry_core::{DataType, Error, RawRows, Result, Table, Value};

/// A key column read from its binary form into the value a decoded read gives.
#[derive(Debug, Clone, Copy)]
enum RawKey {
    Int,
    Text,
    Uuid,
}

impl RawKey {
    fn of(t: &DataType) -> Option<RawKey> {
        match t {
            DataType::Int16 | DataType::Int32 | DataType::Int64 => Some(RawKey::Int),
            DataType::Text | DataType::VarChar(_) => Some(RawKey::Text),
            DataType::Uuid => Some(RawKey::Uuid),
            _ => None,
        }
    }

    fn decode(self, field: Option<&[u8]>) -> Result<Value> {
        let Some(b) = field else {
            return Ok(Value::Null);
        };
        let bad = || Error::other("unexpected binary key value in COPY data");
        Ok(match self {
            RawKey::Int => Value::Int(match b.len() {
                2 => i64::from(i16::from_be_bytes([b[0], b[1]])),
                4 => i64::from(i32::from_be_bytes(b.try_into().map_err(|_| bad())?)),
                8 => i64::from_be_bytes(b.try_into().map_err(|_| bad())?),
                _ => return Err(bad()),
            }),
            // Only the bucket a row falls in depends on the key: the same bytes on both
            // sides give the same text.
            RawKey::Text => Value::Text(String::from_utf8_lossy(b).into_owned()),
            RawKey::Uuid => Value::Uuid(b.try_into().map_err(|_| bad())?),
        })
    }
}

/// The rows of one table's binary COPY chunks.
pub struct CopyRows {
    /// (position among the copied columns, how to read it), in key order.
    key: Vec<(usize, RawKey)>,
    /// Positions of array columns: their binary form names the element type's OID, which
    /// differs between databases for enums and domains, so those four bytes are blanked.
    arrays: Vec<usize>,
    row_buf: Vec<u8>,
    keys: Vec<Value>,
}

impl CopyRows {
    /// For `table`'s copied columns, or `None` when a key column's binary form is not one
    /// this reads (the caller then compares decoded values).
    pub fn new(table: &Table) -> Option<CopyRows> {
        let cols: Vec<&ferry_core::Column> = table.copied_columns().collect();
        if cols.iter().any(|c| may_be_composite(c)) {
            // A composite value's binary form names each attribute's type OID, which
            // differs between databases for user types: compare decoded values instead.
            return None;
        }
        let key = table
            .row_key()
            .iter()
            .map(|k| {
                let i = cols.iter().position(|c| c.name == *k)?;
                Some((i, RawKey::of(&cols[i].data_type)?))
            })
            .collect::<Option<Vec<_>>>()?;
        let arrays = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.data_type, DataType::Array(_)))
            .map(|(i, _)| i)
            .collect();
        Some(CopyRows {
            key,
            arrays,
            row_buf: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// The tuple's bytes with the array element OIDs blanked.
    fn comparable<'a>(&'a mut self, tuple: &'a [u8]) -> &'a [u8] {
        if self.arrays.is_empty() {
            return tuple;
        }
        self.row_buf.clear();
        self.row_buf.extend_from_slice(tuple);
        let base = tuple.as_ptr() as usize;
        for (i, field) in tuple_fields(tuple).enumerate() {
            if let (true, Some(f)) = (self.arrays.contains(&i), field) {
                // ndim, has-nulls flag, then the element type's OID.
                let at = f.as_ptr() as usize - base;
                if f.len() >= 12 {
                    self.row_buf[at + 8..at + 12].fill(0);
                }
            }
        }
        &self.row_buf
    }
}

/// Whether `c` may hold composite values: it reads as text (no type rule maps a composite)
/// and its type is none of PostgreSQL's own. Domains over text answer yes too, which only
/// costs their tables the faster comparison.
fn may_be_composite(c: &ferry_core::Column) -> bool {
    const BUILTIN: &[&str] = &[
        "text",
        "character varying",
        "varchar",
        "character",
        "char",
        "bpchar",
        "name",
        "citext",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "xml",
        "tsvector",
        "tsquery",
        "money",
        "point",
        "line",
        "lseg",
        "box",
        "path",
        "polygon",
        "circle",
        "time with time zone",
        "pg_lsn",
        "oid",
        "int4range",
        "int8range",
        "numrange",
        "tsrange",
        "tstzrange",
        "daterange",
        "int4multirange",
        "int8multirange",
        "nummultirange",
        "tsmultirange",
        "tstzmultirange",
        "datemultirange",
        "bit varying",
        "\"char\"",
    ];
    let text_like = match &c.data_type {
        DataType::Text => true,
        DataType::Array(inner) => **inner == DataType::Text,
        _ => false,
    };
    if !text_like {
        return false;
    }
    let t = c.source_type.to_ascii_lowercase();
    let base = t.trim_end_matches("[]");
    let base = base.split('(').next().unwrap_or(base).trim();
    !BUILTIN.contains(&base)
}

impl RawRows for CopyRows {
    fn rows(&mut self, raw: &[u8], visit: &mut ferry_core::raw::RawRowVisitor<'_>) -> Result<()> {
        for tuple in tuples(raw) {
            let mut keys = std::mem::take(&mut self.keys);
            keys.clear();
            for &(i, how) in &self.key {
                keys.push(how.decode(tuple_fields(tuple).nth(i).flatten())?);
            }
            let result = visit(self.comparable(tuple), &keys);
            self.keys = keys;
            result?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_keys_decode_like_decoded_reads() {
        let decode = |how: RawKey, field: Option<&[u8]>| how.decode(field).expect("key");
        assert_eq!(
            decode(RawKey::Int, Some(&(-7i16).to_be_bytes())),
            Value::Int(-7)
        );
        assert_eq!(
            decode(RawKey::Int, Some(&123_456i32.to_be_bytes())),
            Value::Int(123_456)
        );
        assert_eq!(
            decode(RawKey::Int, Some(&i64::MIN.to_be_bytes())),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            decode(RawKey::Text, Some("naïve 🚢".as_bytes())),
            Value::Text("naïve 🚢".into())
        );
        assert_eq!(
            decode(RawKey::Uuid, Some(&[7u8; 16])),
            Value::Uuid([7u8; 16])
        );
        assert_eq!(decode(RawKey::Text, None), Value::Null);
        assert!(RawKey::Int.decode(Some(&[1, 2, 3])).is_err());
        assert!(RawKey::Uuid.decode(Some(&[1, 2, 3])).is_err());
        assert!(
            RawKey::of(&DataType::Char(3)).is_none(),
            "char keys are trimmed"
        );
    }
}
