//! Planning a run: introspect the source, apply the config, let the target's planner size
//! what it must from the data, translate for the target.

use crate::config::Config;
use ferry_core::{Connector, Dialect, Error, Result, Schema, Sink, Source};
use ferry_schema::{apply_overrides, translate, Overrides, Translation, Warning};
use std::collections::HashSet;

/// Plan a migration: introspect the source, apply the config, translate for the target.
pub async fn plan(
    source: &dyn Source,
    target: Dialect,
    config: &Config,
    drivers: &dyn Connector,
) -> Result<Translation> {
    let mut schema = source.schema().await?;
    config.select(&mut schema)?;
    refuse_unsupported(&mut schema, config)?;
    let (overrides, sized) = sized_overrides(source, &schema, target, config, drivers).await?;
    let mut translation = translate(&schema, source.dialect(), target, &overrides)?;
    translation.warnings.extend(sized);
    for w in source.warnings().into_iter().rev() {
        translation.warnings.insert(
            0,
            Warning {
                table: None,
                column: None,
                message: w,
            },
        );
    }
    Ok(translation)
}

/// The type overrides to translate `schema` with: the config's, plus the types the
/// target's planner sizes from the data (a MySQL target's text key columns) where the
/// config's `[columns]` sets none. Returns them with a warning per sized column.
async fn sized_overrides(
    source: &dyn Source,
    schema: &Schema,
    target: Dialect,
    config: &Config,
    drivers: &dyn Connector,
) -> Result<(Overrides, Vec<Warning>)> {
    let mut overrides = config.overrides();
    let typed = apply_overrides(schema, &overrides);
    let user = overrides.columns.clone();
    let set_by_user = move |t: &ferry_core::Table, column: &str| {
        user.contains_key(&format!("{}.{column}", t.display_name()))
            || user.contains_key(&format!("{}.{column}", t.name))
    };
    let sized = drivers
        .planner(target)
        .size_key_columns(source, schema, &typed, &set_by_user)
        .await?;
    let mut warnings = Vec::with_capacity(sized.len());
    for s in sized {
        if let Some(t) = s.data_type {
            overrides
                .columns
                .insert(format!("{}.{}", s.table, s.column), t);
        }
        warnings.push(Warning {
            table: Some(s.table),
            column: Some(s.column),
            message: s.message,
        });
    }
    Ok((overrides, warnings))
}

/// Drop the tables that belong to a table the config left out (an SQLite virtual table's
/// shadow tables), unless the config names them itself, then refuse any table ferry cannot
/// copy that is still selected.
fn refuse_unsupported(schema: &mut Schema, config: &Config) -> Result<()> {
    let kept: HashSet<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    schema.tables.retain(|t| {
        t.unsupported
            .as_ref()
            .and_then(|u| u.belongs_to.as_ref())
            .is_none_or(|owner| kept.contains(owner) || config.tables.include.contains(&t.name))
    });
    match schema
        .tables
        .iter()
        .find_map(|t| Some((t, t.unsupported.as_ref()?)))
    {
        Some((t, u)) => Err(Error::schema(format!(
            "table `{}` {}",
            t.display_name(),
            u.reason
        ))),
        None => Ok(()),
    }
}

/// The warnings for unencrypted connections to hosts outside loopback, one line per host.
pub fn connection_warnings(source: &dyn Source, sink: &dyn Sink) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in [source.connection_warning(), sink.connection_warning()]
        .into_iter()
        .flatten()
    {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}
