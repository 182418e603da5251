//! MySQL's `ON UPDATE CURRENT_TIMESTAMP` on a PostgreSQL target, which has no such column
//! clause: a `BEFORE UPDATE` trigger does the same.

use super::{qualified, quote_ident};
use crate::target::Ctx;
use ferry_core::{DefaultValue, Dialect, Table};

/// The session setting ferry's replication sets while it applies the source's changes:
/// those rows carry the source's own timestamps, which the trigger must keep.
pub const APPLYING_SETTING: &str = "ferry.applying";

/// The statements that give `tgt`'s `ON UPDATE CURRENT_TIMESTAMP` columns their behaviour:
/// a trigger function and its trigger (none when no column has the clause), and the drop of
/// the function (the table's drop takes the trigger with it). An UPDATE that
/// leaves such a column as it was sets it to the current time; one that sets it keeps its
/// value, as on MySQL.
pub(super) fn statements(ctx: &mut Ctx, src: &Table, tgt: &Table) -> (Vec<String>, Vec<String>) {
    let mut assignments = Vec::new();
    for (scol, tcol) in src.columns.iter().zip(&tgt.columns) {
        if !scol.on_update_current_timestamp {
            continue;
        }
        let now = super::default::computed_default(
            Dialect::Mysql,
            &DefaultValue::CurrentTimestamp,
            &tcol.data_type,
        );
        match now {
            Ok(now) => {
                let c = quote_ident(&tcol.name);
                assignments.push(format!(
                    "  IF NEW.{c} IS NOT DISTINCT FROM OLD.{c} THEN NEW.{c} := {now}; END IF;"
                ));
            }
            Err(_) => ctx.warn(
                src,
                Some(&scol.name),
                "ON UPDATE CURRENT_TIMESTAMP not carried over: the column's type holds no time",
            ),
        }
    }
    if assignments.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let trigger = quote_ident(
        &ctx.constraint_names
            .name(&format!("{}_on_update", tgt.name)),
    );
    let function = match &tgt.schema {
        Some(s) => format!("{}.{trigger}", quote_ident(s)),
        None => trigger.clone(),
    };
    let table = qualified(tgt);
    let create = vec![
        format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $ferry$\n\
             BEGIN\n\
             \x20 -- MySQL's ON UPDATE CURRENT_TIMESTAMP, made by ferry. Changes ferry replicates\n\
             \x20 -- keep the source's values ({APPLYING_SETTING}).\n\
             \x20 IF current_setting('{APPLYING_SETTING}', true) IS DISTINCT FROM 'on' THEN\n\
             {}\n\
             \x20 END IF;\n\
             \x20 RETURN NEW;\n\
             END\n\
             $ferry$",
            assignments.join("\n")
        ),
        format!(
            "CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        ),
    ];
    (
        create,
        vec![format!("DROP FUNCTION IF EXISTS {function}()")],
    )
}
