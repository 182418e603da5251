//! How a replicated table's columns decode: the catalog shape the copy read, checked once
//! when the stream opens, and the conversion of each pgoutput cell to the neutral value the
//! copy would have produced.

use super::pgoutput::{self, Cell, Relation};
use crate::decode::{decode, Wire};
use ferry_core::{Error, ErrorKind, Result, Table, Value};

const COLUMNS_SQL: &str = include_str!("../../sql/replica_columns.sql");

/// One column as the copy read it: its catalog type and how its binary form decodes.
#[derive(Debug, Clone)]
pub(crate) struct ColumnShape {
    pub(crate) name: String,
    pub(crate) type_oid: u32,
    pub(crate) typmod: i32,
    pub(crate) type_name: String,
    pub(crate) conv: Conv,
}

/// How a column's binary value becomes the neutral value the copy reads.
#[derive(Debug, Clone)]
pub(crate) enum Conv {
    /// The copy's own decoder for this wire form.
    Wire(Wire),
    /// `inet` / `cidr`, which the copy reads as text.
    Inet,
    /// `macaddr` / `macaddr8`, which the copy reads as text.
    Mac,
    /// `xml`, whose binary form is its text.
    Xml,
    /// `money` (cents as int8), which the copy reads as numeric with `scale` digits.
    Money { scale: u32 },
}

impl Conv {
    /// The conversion for a column of catalog type `wire_type` whose copy reads `want`,
    /// when one exists without a server-side cast.
    fn choose(have: Wire, wire_type: &str, want: &Wire, money_scale: u32) -> Option<Conv> {
        if have.serves(want) {
            return Some(Conv::Wire(have));
        }
        match (wire_type, want) {
            ("inet" | "cidr", Wire::Text) => Some(Conv::Inet),
            ("macaddr" | "macaddr8", Wire::Text) => Some(Conv::Mac),
            ("xml", Wire::Text) => Some(Conv::Xml),
            ("money", Wire::Numeric) => Some(Conv::Money { scale: money_scale }),
            _ => None,
        }
    }

    fn decode(&self, b: &[u8]) -> std::result::Result<Value, String> {
        match self {
            Conv::Wire(w) => decode(w, b),
            Conv::Inet => inet_text(b).map(Value::Text),
            Conv::Mac => Ok(Value::Text(
                b.iter()
                    .map(|x| format!("{x:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            )),
            Conv::Xml => std::str::from_utf8(b)
                .map(|s| Value::Text(s.to_string()))
                .map_err(|_| "xml is not valid UTF-8".to_string()),
            Conv::Money { scale } => {
                let cents = i64::from_be_bytes(
                    b.try_into()
                        .map_err(|_| "money field is not 8 bytes".to_string())?,
                );
                Ok(Value::Decimal(scaled_decimal(cents, *scale)))
            }
        }
    }
}

/// `units` with `scale` implied fraction digits as decimal text (`-12.34`).
fn scaled_decimal(units: i64, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let neg = units < 0;
    let digits = units.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// The text a binary `inet`/`cidr` becomes under the copy's `::text` cast: the address and
/// always `/bits` (`text(inet)`, unlike the type's output function, keeps the mask).
fn inet_text(b: &[u8]) -> std::result::Result<String, String> {
    let [family, bits, _is_cidr, nb, addr @ ..] = b else {
        return Err("inet field is too short".into());
    };
    let text = match (family, *nb as usize, addr.len()) {
        (2, 4, 4) => std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
        (3, 16, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(addr);
            let ip = std::net::Ipv6Addr::from(a);
            let w = ip.segments();
            // PostgreSQL prints an IPv4-compatible address (::a.b.c.d) with a dotted tail.
            if w[..6].iter().all(|x| *x == 0) && w[6] != 0 {
                format!("::{}.{}.{}.{}", a[12], a[13], a[14], a[15])
            } else {
                ip.to_string()
            }
        }
        _ => return Err("inet field has an unknown address family".into()),
    };
    Ok(format!("{text}/{bits}"))
}

/// One streamed table.
#[derive(Debug, Clone)]
pub(crate) struct TableShape {
    pub(crate) shown: String,
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) columns: Vec<ColumnShape>,
    /// Indexes of the row key's columns (a bad value is named by its key).
    key: Vec<usize>,
}

impl TableShape {
    /// Read `table`'s column types from the catalog and check that each decodes to the
    /// neutral type the copy gave it without a server-side cast.
    pub(crate) async fn load(client: &tokio_postgres::Client, table: &Table) -> Result<Self> {
        let shown = table.display_name();
        let rows = client
            .query(COLUMNS_SQL, &[&crate::write::qualified(table)])
            .await
            .map_err(|e| crate::map_error(e).context(format!("table `{shown}`: column types")))?;
        let mut columns = Vec::new();
        for col in table.copied_columns() {
            let row = rows
                .iter()
                .find(|r| r.get::<_, String>("column_name") == col.name)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("table `{shown}`: column `{}` not found", col.name),
                    )
                })?;
            let have = Wire::from_catalog(
                &row.get::<_, String>("wire_type"),
                &row.get::<_, String>("wire_kind"),
                &row.get::<_, String>("elem_type"),
                &row.get::<_, String>("elem_kind"),
            );
            if row.get::<_, bool>("generated") {
                return Err(Error::config(format!(
                    "table `{shown}`, column `{}`: the source computes it (GENERATED ALWAYS), and PostgreSQL's logical replication does not send such values, so the target's copy of it could not follow; exclude the table, or drop the generation on the source (ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION)",
                    col.name
                )));
            }
            let (want, _) = Wire::for_type(&col.data_type);
            let type_name: String = row.get("type_name");
            let wire_type: String = row.get("wire_type");
            if wire_type == "varbit" {
                // The neutral value of a bit string keeps its bits but not its length, so a
                // short `bit varying` value would arrive zero-padded.
                return Err(Error::config(format!(
                    "table `{shown}`, column `{}`: {type_name} values cannot be replicated exactly (their length is lost on the way); change the column to bit(n) or text on the source, or exclude the table",
                    col.name
                )));
            }
            let scale = if wire_type == "money" {
                money_scale(client).await?
            } else {
                0
            };
            let conv = Conv::choose(have, &wire_type, &want, scale).ok_or_else(|| {
                Error::config(format!(
                    "table `{shown}`, column `{}`: its type {type_name} is copied through a cast to {:?}, which replication cannot apply to the values it streams; exclude the table or change the column's type",
                    col.name, col.data_type
                ))
            })?;
            columns.push(ColumnShape {
                name: col.name.clone(),
                type_oid: row.get::<_, i64>("type_oid") as u32,
                typmod: row.get("typmod"),
                type_name,
                conv,
            });
        }
        let key = table
            .row_key()
            .iter()
            .filter_map(|k| columns.iter().position(|c| &c.name == k))
            .collect();
        Ok(TableShape {
            shown,
            schema: table.schema.clone().unwrap_or_else(|| "public".into()),
            name: table.name.clone(),
            columns,
            key,
        })
    }

    /// A table of `int4` key `id` and `text` column `v` (decoder tests).
    #[cfg(test)]
    pub(crate) fn int_text(name: &str) -> TableShape {
        let col = |name: &str, type_oid, wire| ColumnShape {
            name: name.into(),
            type_oid,
            typmod: -1,
            type_name: String::new(),
            conv: Conv::Wire(wire),
        };
        TableShape {
            shown: format!("public.{name}"),
            schema: "public".into(),
            name: name.into(),
            columns: vec![col("id", 23, Wire::Int4), col("v", 25, Wire::Text)],
            key: vec![0],
        }
    }

    /// Whether the relation the server describes is the table as copied; otherwise what
    /// changed, in words.
    pub(super) fn differs(&self, rel: &Relation) -> Option<String> {
        let mut changes = Vec::new();
        for c in &self.columns {
            match rel.columns.iter().find(|r| r.name == c.name) {
                None => changes.push(format!("column `{}` was dropped or renamed", c.name)),
                Some(r) if r.type_oid != c.type_oid || r.typmod != c.typmod => changes.push(
                    format!("column `{}` changed type (it was {})", c.name, c.type_name),
                ),
                Some(_) => {}
            }
        }
        for r in &rel.columns {
            if !self.columns.iter().any(|c| c.name == r.name) {
                changes.push(format!("column `{}` was added", r.name));
            }
        }
        if changes.is_empty() && rel.columns.len() != self.columns.len() {
            changes.push("its columns were reordered".into());
        }
        if changes.is_empty() {
            None
        } else {
            Some(changes.join(", "))
        }
    }

    /// A tuple as the copy would have read it, and the columns the server left out
    /// because they did not change (unchanged TOAST values, kept as NULL placeholders).
    pub(super) fn convert(&self, cells: &[Cell], at: u64) -> Result<(Vec<Value>, Vec<usize>)> {
        let mut values = Vec::with_capacity(self.columns.len());
        let mut unchanged = Vec::new();
        for (i, (cell, col)) in cells.iter().zip(&self.columns).enumerate() {
            let v = match cell {
                Cell::Null => Ok(Value::Null),
                Cell::Unchanged => {
                    unchanged.push(i);
                    Ok(Value::Null)
                }
                Cell::Binary(b) => col.conv.decode(b),
                Cell::Text(t) => text_cell(&col.conv, t),
            }
            .map_err(|why| self.bad(&values, &col.name, at, &why))?;
            values.push(v);
        }
        if values.len() != self.columns.len() {
            return Err(Error::new(
                ErrorKind::Schema,
                format!(
                    "table `{}`: a change at {} carries {} columns, the copy has {}",
                    self.shown,
                    pgoutput::format_lsn(at),
                    values.len(),
                    self.columns.len()
                ),
            ));
        }
        Ok((values, unchanged))
    }

    /// The name of a key column among the `unchanged` ones (a TOASTed key value left out).
    pub(super) fn unchanged_key(&self, unchanged: &[usize]) -> Option<&str> {
        self.key
            .iter()
            .find(|k| unchanged.contains(k))
            .map(|&k| self.columns[k].name.as_str())
    }

    fn bad(&self, done: &[Value], column: &str, at: u64, why: &str) -> Error {
        let key: Vec<String> = self
            .key
            .iter()
            .filter_map(|&i| {
                done.get(i)
                    .map(|v| format!("{}={}", self.columns[i].name, v.to_json()))
            })
            .collect();
        let key = if key.len() == self.key.len() && !key.is_empty() {
            key.join(", ")
        } else {
            "key not yet read".into()
        };
        Error::data(format!(
            "table `{}`, column `{column}`, {key} (WAL {}): {why}",
            self.shown,
            pgoutput::format_lsn(at)
        ))
    }
}

/// The fraction digits of `money` under the server's `lc_monetary`, as the copy's
/// `money::numeric` cast gives them.
async fn money_scale(client: &tokio_postgres::Client) -> Result<u32> {
    let row = client
        .query_one("SELECT scale('1'::money::numeric)", &[])
        .await
        .map_err(|e| crate::map_error(e).context("reading money's scale"))?;
    Ok(row.get::<_, i32>(0).max(0) as u32)
}

/// A value the server sent in text form (a type without a binary send function).
fn text_cell(conv: &Conv, t: &[u8]) -> std::result::Result<Value, String> {
    let s = std::str::from_utf8(t).map_err(|_| "text is not valid UTF-8".to_string())?;
    match conv {
        Conv::Wire(Wire::Text) | Conv::Xml => Ok(Value::Text(s.to_string())),
        Conv::Wire(Wire::Json | Wire::Jsonb) => Ok(Value::Json(s.to_string())),
        _ => Err("the server sent the value as text (its type has no binary form)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_text_as_the_copys_text_cast_prints_it() {
        assert_eq!(
            inet_text(&[2, 24, 0, 4, 192, 168, 0, 1]).as_deref(),
            Ok("192.168.0.1/24")
        );
        assert_eq!(
            inet_text(&[2, 32, 0, 4, 10, 0, 0, 1]).as_deref(),
            Ok("10.0.0.1/32")
        );
        assert_eq!(
            inet_text(&[2, 32, 1, 4, 10, 0, 0, 1]).as_deref(),
            Ok("10.0.0.1/32")
        );
        let mut v6 = vec![3, 128, 0, 16];
        v6.extend_from_slice(&[0; 15]);
        v6.push(1);
        assert_eq!(inet_text(&v6).as_deref(), Ok("::1/128"));
    }

    #[test]
    fn money_scales() {
        assert_eq!(scaled_decimal(-1234, 2), "-12.34");
        assert_eq!(scaled_decimal(5, 2), "0.05");
        assert_eq!(scaled_decimal(7, 0), "7");
    }
}
