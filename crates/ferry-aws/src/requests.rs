//! Request builders: every create call ferry makes, with the secure settings always set
//! explicitly (never left to an account default), and a readable list of those settings for
//! `--dry-run` read back from the very builder that would be sent.

use crate::client::AwsClients;
use crate::secret::RdsSecret;
use crate::spec::{ProvisionSpec, MASTER_USERNAME, TAG_MANAGED, TAG_NAME, TAG_ROLE};
use aws_sdk_rds::operation::create_db_cluster::builders::CreateDBClusterFluentBuilder;
use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use aws_sdk_rds::operation::create_db_instance_read_replica::builders::CreateDBInstanceReadReplicaFluentBuilder;
use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};
use aws_sdk_secretsmanager::operation::create_secret::builders::CreateSecretFluentBuilder;
use aws_sdk_secretsmanager::operation::get_random_password::builders::GetRandomPasswordFluentBuilder;
use ferry_core::url::Secret;

/// Characters RDS refuses in a master password.
pub const PASSWORD_EXCLUDED: &str = "/@\" ";

/// One setting of a planned resource, for `--dry-run` and reports.
pub type Setting = (&'static str, String);

/// The tags of one resource of deployment `name` playing `role`.
pub fn tags(name: &str, role: &str) -> Vec<(&'static str, String)> {
    vec![
        (TAG_MANAGED, "ferry".to_string()),
        (TAG_NAME, name.to_string()),
        (TAG_ROLE, role.to_string()),
    ]
}

fn rds_tags(name: &str, role: &str) -> Vec<Tag> {
    tags(name, role)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// `GetRandomPassword`: no character RDS rejects, 41 characters for MySQL engines.
pub fn random_password(c: &AwsClients, spec: &ProvisionSpec) -> GetRandomPasswordFluentBuilder {
    c.secrets
        .get_random_password()
        .password_length(spec.engine.password_length())
        .exclude_characters(PASSWORD_EXCLUDED)
        .include_space(false)
        .require_each_included_type(true)
}

/// The secret's first value: host empty until the database is available.
pub fn initial_secret(spec: &ProvisionSpec, password: Secret) -> RdsSecret {
    let aurora = spec.engine.is_aurora();
    RdsSecret {
        engine: spec.engine.secret_engine().to_string(),
        host: String::new(),
        port: spec.port(),
        username: MASTER_USERNAME.to_string(),
        password,
        dbname: Some(spec.database()),
        db_instance_identifier: (!aurora).then(|| spec.primary_id().to_string()),
        db_cluster_identifier: aurora.then(|| spec.primary_id().to_string()),
    }
}

/// `CreateSecret`, tagged with ferry and the deployment's name.
pub fn create_secret(
    c: &AwsClients,
    spec: &ProvisionSpec,
    secret: &RdsSecret,
) -> CreateSecretFluentBuilder {
    let mut b = c
        .secrets
        .create_secret()
        .name(spec.secret_name())
        .description(format!(
            "ferry: master credentials of {} `{}`",
            spec.engine,
            spec.primary_id()
        ))
        .secret_string(secret.to_json());
    if let Some(kms) = &spec.kms_key {
        b = b.kms_key_id(kms);
    }
    for (k, v) in tags(&spec.name, "secret") {
        b = b.tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build(),
        );
    }
    b
}

/// `CreateDBInstance` for an RDS (non-Aurora) engine.
pub fn create_instance(
    c: &AwsClients,
    spec: &ProvisionSpec,
    password: &Secret,
) -> CreateDBInstanceFluentBuilder {
    c.rds
        .create_db_instance()
        .db_instance_identifier(spec.primary_id())
        .engine(spec.engine.rds_name())
        .set_engine_version(spec.engine_version.clone())
        .db_instance_class(spec.instance_class())
        .allocated_storage(spec.storage_gb())
        .storage_type("gp3")
        .db_name(spec.database())
        .master_username(MASTER_USERNAME)
        .master_user_password(password.expose())
        .port(i32::from(spec.port()))
        .multi_az(spec.multi_az)
        .set_availability_zone(spec.availability_zone.clone())
        .enable_performance_insights(spec.performance_insights)
        .set_db_parameter_group_name(spec.parameter_group.clone())
        .storage_encrypted(true)
        .set_kms_key_id(spec.kms_key.clone())
        .publicly_accessible(false)
        .deletion_protection(true)
        .enable_iam_database_authentication(true)
        .backup_retention_period(spec.backup_retention_days)
        .copy_tags_to_snapshot(true)
        .auto_minor_version_upgrade(true)
        .set_db_subnet_group_name(spec.subnet_group.clone())
        .set_vpc_security_group_ids(security_groups(spec))
        .set_tags(Some(rds_tags(&spec.name, "instance")))
}

/// `CreateDBCluster` for an Aurora engine (Serverless v2 range when asked).
pub fn create_cluster(
    c: &AwsClients,
    spec: &ProvisionSpec,
    password: &Secret,
) -> CreateDBClusterFluentBuilder {
    let serverless = spec.serverless_v2.map(|r| {
        ServerlessV2ScalingConfiguration::builder()
            .min_capacity(r.min)
            .max_capacity(r.max)
            .build()
    });
    c.rds
        .create_db_cluster()
        .db_cluster_identifier(spec.primary_id())
        .engine(spec.engine.rds_name())
        .set_engine_version(spec.engine_version.clone())
        .database_name(spec.database())
        .master_username(MASTER_USERNAME)
        .master_user_password(password.expose())
        .port(i32::from(spec.port()))
        .set_db_cluster_parameter_group_name(spec.parameter_group.clone())
        .storage_encrypted(true)
        .set_kms_key_id(spec.kms_key.clone())
        .deletion_protection(true)
        .enable_iam_database_authentication(true)
        .backup_retention_period(spec.backup_retention_days)
        .copy_tags_to_snapshot(true)
        .set_db_subnet_group_name(spec.subnet_group.clone())
        .set_vpc_security_group_ids(security_groups(spec))
        .set_serverless_v2_scaling_configuration(serverless)
        .set_tags(Some(rds_tags(&spec.name, "cluster")))
}

/// `CreateDBInstance` of an Aurora cluster member (`role` is `writer` or `reader`). Storage,
/// encryption, backups and IAM auth belong to the cluster; the instance is never public.
pub fn create_cluster_instance(
    c: &AwsClients,
    spec: &ProvisionSpec,
    id: &str,
    role: &str,
) -> CreateDBInstanceFluentBuilder {
    c.rds
        .create_db_instance()
        .db_instance_identifier(id)
        .db_cluster_identifier(spec.primary_id())
        .engine(spec.engine.rds_name())
        .db_instance_class(spec.instance_class())
        .publicly_accessible(false)
        .auto_minor_version_upgrade(true)
        .promotion_tier(if role == "writer" { 0 } else { 1 })
        .set_availability_zone(
            (role == "writer")
                .then(|| spec.availability_zone.clone())
                .flatten(),
        )
        .enable_performance_insights(spec.performance_insights)
        .set_db_subnet_group_name(spec.subnet_group.clone())
        .set_tags(Some(rds_tags(&spec.name, role)))
}

/// `CreateDBInstanceReadReplica` of an RDS instance: same secure settings as the source.
pub fn create_read_replica(
    c: &AwsClients,
    spec: &ProvisionSpec,
) -> CreateDBInstanceReadReplicaFluentBuilder {
    c.rds
        .create_db_instance_read_replica()
        .db_instance_identifier(spec.reader_id())
        .source_db_instance_identifier(spec.primary_id())
        .db_instance_class(spec.instance_class())
        .enable_performance_insights(spec.performance_insights)
        .set_db_parameter_group_name(spec.parameter_group.clone())
        .publicly_accessible(false)
        .deletion_protection(true)
        .enable_iam_database_authentication(true)
        .copy_tags_to_snapshot(true)
        .auto_minor_version_upgrade(true)
        .set_kms_key_id(spec.kms_key.clone())
        .set_vpc_security_group_ids(security_groups(spec))
        .set_tags(Some(rds_tags(&spec.name, "reader")))
}

fn security_groups(spec: &ProvisionSpec) -> Option<Vec<String>> {
    (!spec.security_groups.is_empty()).then(|| spec.security_groups.clone())
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(AWS default)".to_string(), ToString::to_string)
}

fn show_list(v: &Option<Vec<String>>) -> String {
    match v {
        Some(list) if !list.is_empty() => list.join(","),
        _ => "(the VPC's default security group)".to_string(),
    }
}

fn show_tags(v: &Option<Vec<Tag>>) -> String {
    v.iter()
        .flatten()
        .map(|t| format!("{}={}", t.key().unwrap_or(""), t.value().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(",")
}

/// The settings of a `CreateDBInstance` request, password shown as `***`.
pub fn instance_settings(b: &CreateDBInstanceFluentBuilder) -> Vec<Setting> {
    let mut s = vec![
        ("engine", show(b.get_engine())),
        ("engine_version", show(b.get_engine_version())),
        ("instance_class", show(b.get_db_instance_class())),
    ];
    s.extend([
        ("availability_zone", show(b.get_availability_zone())),
        (
            "performance_insights",
            show(b.get_enable_performance_insights()),
        ),
    ]);
    if let Some(cluster) = b.get_db_cluster_identifier() {
        s.push(("cluster", cluster.clone()));
    } else {
        s.extend([
            ("port", show(b.get_port())),
            ("multi_az", show(b.get_multi_az())),
            ("parameter_group", show(b.get_db_parameter_group_name())),
            ("allocated_storage_gb", show(b.get_allocated_storage())),
            ("storage_type", show(b.get_storage_type())),
            ("database", show(b.get_db_name())),
            ("master_username", show(b.get_master_username())),
            ("master_password", "*** (from the secret)".to_string()),
            ("storage_encrypted", show(b.get_storage_encrypted())),
            ("kms_key", show(b.get_kms_key_id())),
            ("deletion_protection", show(b.get_deletion_protection())),
            (
                "iam_database_authentication",
                show(b.get_enable_iam_database_authentication()),
            ),
            (
                "backup_retention_days",
                show(b.get_backup_retention_period()),
            ),
            ("copy_tags_to_snapshot", show(b.get_copy_tags_to_snapshot())),
            ("security_groups", show_list(b.get_vpc_security_group_ids())),
        ]);
    }
    s.extend([
        ("publicly_accessible", show(b.get_publicly_accessible())),
        ("subnet_group", show(b.get_db_subnet_group_name())),
        ("tags", show_tags(b.get_tags())),
    ]);
    s
}

/// The settings of a `CreateDBCluster` request, password shown as `***`.
pub fn cluster_settings(b: &CreateDBClusterFluentBuilder) -> Vec<Setting> {
    let serverless = b
        .get_serverless_v2_scaling_configuration()
        .as_ref()
        .map_or_else(
            || "(provisioned)".to_string(),
            |c| {
                format!(
                    "{}-{} ACU",
                    c.min_capacity().unwrap_or_default(),
                    c.max_capacity().unwrap_or_default()
                )
            },
        );
    vec![
        ("engine", show(b.get_engine())),
        ("engine_version", show(b.get_engine_version())),
        ("database", show(b.get_database_name())),
        ("master_username", show(b.get_master_username())),
        ("master_password", "*** (from the secret)".to_string()),
        ("serverless_v2", serverless),
        ("port", show(b.get_port())),
        (
            "cluster_parameter_group",
            show(b.get_db_cluster_parameter_group_name()),
        ),
        ("storage_encrypted", show(b.get_storage_encrypted())),
        ("kms_key", show(b.get_kms_key_id())),
        ("deletion_protection", show(b.get_deletion_protection())),
        (
            "iam_database_authentication",
            show(b.get_enable_iam_database_authentication()),
        ),
        (
            "backup_retention_days",
            show(b.get_backup_retention_period()),
        ),
        ("copy_tags_to_snapshot", show(b.get_copy_tags_to_snapshot())),
        ("subnet_group", show(b.get_db_subnet_group_name())),
        ("security_groups", show_list(b.get_vpc_security_group_ids())),
        ("tags", show_tags(b.get_tags())),
    ]
}

/// The settings of a `CreateDBInstanceReadReplica` request.
pub fn replica_settings(b: &CreateDBInstanceReadReplicaFluentBuilder) -> Vec<Setting> {
    vec![
        ("source", show(b.get_source_db_instance_identifier())),
        ("instance_class", show(b.get_db_instance_class())),
        (
            "performance_insights",
            show(b.get_enable_performance_insights()),
        ),
        ("parameter_group", show(b.get_db_parameter_group_name())),
        (
            "storage_encrypted",
            "true (inherited from the source)".to_string(),
        ),
        ("kms_key", show(b.get_kms_key_id())),
        ("publicly_accessible", show(b.get_publicly_accessible())),
        ("deletion_protection", show(b.get_deletion_protection())),
        (
            "iam_database_authentication",
            show(b.get_enable_iam_database_authentication()),
        ),
        ("copy_tags_to_snapshot", show(b.get_copy_tags_to_snapshot())),
        ("security_groups", show_list(b.get_vpc_security_group_ids())),
        ("tags", show_tags(b.get_tags())),
    ]
}

/// The settings of the secret ferry creates (its value never shown).
pub fn secret_settings(b: &CreateSecretFluentBuilder, spec: &ProvisionSpec) -> Vec<Setting> {
    vec![
        ("name", show(b.get_name())),
        (
            "value",
            format!(
                "RDS JSON (engine, host, port, username, password, dbname, {}); password from GetRandomPassword, {} chars, excluding / @ \" and space",
                if spec.engine.is_aurora() { "dbClusterIdentifier" } else { "dbInstanceIdentifier" },
                spec.engine.password_length()
            ),
        ),
        ("kms_key", show(b.get_kms_key_id())),
        (
            "tags",
            b.get_tags()
                .iter()
                .flatten()
                .map(|t| format!("{}={}", t.key().unwrap_or(""), t.value().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(","),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Engine, ServerlessRange};

    fn full_spec(engine: Engine) -> ProvisionSpec {
        let mut s = ProvisionSpec::new("shop", engine);
        s.kms_key = Some("arn:aws:kms:us-east-1:1:key/abc".into());
        s.subnet_group = Some("private-db".into());
        s.security_groups = vec!["sg-0123".into(), "sg-0456".into()];
        s
    }

    fn tag_pairs(tags: &Option<Vec<Tag>>) -> Vec<(String, String)> {
        tags.iter()
            .flatten()
            .map(|t| (t.key().unwrap_or("").into(), t.value().unwrap_or("").into()))
            .collect()
    }

    #[test]
    fn instance_request_sets_every_secure_setting() {
        let c = AwsClients::offline("us-east-1");
        for engine in [Engine::Postgres, Engine::Mysql] {
            let spec = full_spec(engine);
            let pw = Secret::new("pw-123456789");
            let b = create_instance(&c, &spec, &pw);
            assert_eq!(b.get_storage_encrypted(), &Some(true));
            assert_eq!(
                b.get_kms_key_id().as_deref(),
                Some("arn:aws:kms:us-east-1:1:key/abc")
            );
            assert_eq!(b.get_publicly_accessible(), &Some(false));
            assert_eq!(b.get_deletion_protection(), &Some(true));
            assert_eq!(b.get_enable_iam_database_authentication(), &Some(true));
            assert!(b.get_backup_retention_period().is_some_and(|d| d >= 7));
            assert_eq!(b.get_copy_tags_to_snapshot(), &Some(true));
            assert_eq!(b.get_db_subnet_group_name().as_deref(), Some("private-db"));
            assert_eq!(
                b.get_vpc_security_group_ids().as_deref(),
                Some(&["sg-0123".to_string(), "sg-0456".to_string()][..])
            );
            assert_eq!(
                b.get_master_user_password().as_deref(),
                Some("pw-123456789")
            );
            assert_eq!(b.get_engine().as_deref(), Some(engine.rds_name()));
            let tags = tag_pairs(b.get_tags());
            assert!(tags.contains(&("ferry:name".into(), "shop".into())));
            assert!(tags.contains(&("ferry:managed-by".into(), "ferry".into())));
            let shown = format!("{:?}", instance_settings(&b));
            assert!(!shown.contains("pw-123456789"), "{shown}");
            assert!(
                shown.contains("(\"publicly_accessible\", \"false\")"),
                "{shown}"
            );
        }
    }

    #[test]
    fn placement_flags_reach_the_requests() {
        let c = AwsClients::offline("us-east-1");
        let mut spec = full_spec(Engine::Postgres);
        spec.multi_az = true;
        spec.port = Some(6543);
        spec.performance_insights = true;
        spec.parameter_group = Some("shop-params".into());
        let b = create_instance(&c, &spec, &Secret::new("pw-123456789"));
        assert_eq!(b.get_multi_az(), &Some(true));
        assert_eq!(b.get_port(), &Some(6543));
        assert_eq!(b.get_enable_performance_insights(), &Some(true));
        assert_eq!(
            b.get_db_parameter_group_name().as_deref(),
            Some("shop-params")
        );
        assert_eq!(initial_secret(&spec, Secret::new("x")).port, 6543);
        let shown = format!("{:?}", instance_settings(&b));
        assert!(shown.contains("(\"multi_az\", \"true\")"), "{shown}");
        assert!(shown.contains("(\"port\", \"6543\")"), "{shown}");

        let mut spec = full_spec(Engine::AuroraMysql);
        spec.availability_zone = Some("us-east-1b".into());
        spec.port = Some(3307);
        spec.performance_insights = true;
        spec.parameter_group = Some("shop-cluster-params".into());
        let cl = create_cluster(&c, &spec, &Secret::new("pw-123456789"));
        assert_eq!(cl.get_port(), &Some(3307));
        assert_eq!(
            cl.get_db_cluster_parameter_group_name().as_deref(),
            Some("shop-cluster-params")
        );
        let w = create_cluster_instance(&c, &spec, &spec.writer_id(), "writer");
        assert_eq!(w.get_availability_zone().as_deref(), Some("us-east-1b"));
        assert_eq!(w.get_enable_performance_insights(), &Some(true));
        let r = create_cluster_instance(&c, &spec, &spec.reader_id(), "reader");
        assert_eq!(
            r.get_availability_zone(),
            &None,
            "the reader goes elsewhere"
        );
    }

    #[test]
    fn cluster_request_sets_every_secure_setting() {
        let c = AwsClients::offline("us-east-1");
        let mut spec = full_spec(Engine::AuroraMysql);
        spec.serverless_v2 = Some(ServerlessRange { min: 0.5, max: 8.0 });
        let b = create_cluster(&c, &spec, &Secret::new("pw-123456789"));
        assert_eq!(b.get_storage_encrypted(), &Some(true));
        assert_eq!(
            b.get_kms_key_id().as_deref(),
            Some("arn:aws:kms:us-east-1:1:key/abc")
        );
        assert_eq!(b.get_deletion_protection(), &Some(true));
        assert_eq!(b.get_enable_iam_database_authentication(), &Some(true));
        assert!(b.get_backup_retention_period().is_some_and(|d| d >= 7));
        assert_eq!(b.get_copy_tags_to_snapshot(), &Some(true));
        assert_eq!(b.get_db_subnet_group_name().as_deref(), Some("private-db"));
        assert_eq!(
            b.get_vpc_security_group_ids().as_ref().map(Vec::len),
            Some(2)
        );
        let sv2 = b
            .get_serverless_v2_scaling_configuration()
            .as_ref()
            .expect("serverless v2 set");
        assert_eq!(
            (sv2.min_capacity(), sv2.max_capacity()),
            (Some(0.5), Some(8.0))
        );
        assert_eq!(b.get_engine().as_deref(), Some("aurora-mysql"));
        assert!(!format!("{:?}", cluster_settings(&b)).contains("pw-123456789"));

        let w = create_cluster_instance(&c, &spec, &spec.writer_id(), "writer");
        assert_eq!(w.get_publicly_accessible(), &Some(false));
        assert_eq!(w.get_db_instance_class().as_deref(), Some("db.serverless"));
        assert_eq!(w.get_db_cluster_identifier().as_deref(), Some("shop"));
        assert_eq!(w.get_db_subnet_group_name().as_deref(), Some("private-db"));
        assert!(w.get_master_user_password().is_none());
    }

    #[test]
    fn replica_request_sets_every_secure_setting() {
        let c = AwsClients::offline("us-east-1");
        let spec = full_spec(Engine::Postgres);
        let b = create_read_replica(&c, &spec);
        assert_eq!(
            b.get_source_db_instance_identifier().as_deref(),
            Some("shop")
        );
        assert_eq!(
            b.get_db_instance_identifier().as_deref(),
            Some("shop-reader")
        );
        assert_eq!(b.get_publicly_accessible(), &Some(false));
        assert_eq!(b.get_deletion_protection(), &Some(true));
        assert_eq!(b.get_enable_iam_database_authentication(), &Some(true));
        assert_eq!(b.get_copy_tags_to_snapshot(), &Some(true));
        assert_eq!(
            b.get_kms_key_id().as_deref(),
            Some("arn:aws:kms:us-east-1:1:key/abc")
        );
        assert_eq!(
            b.get_vpc_security_group_ids().as_ref().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn password_request_excludes_what_rds_rejects() {
        let c = AwsClients::offline("us-east-1");
        let my = random_password(&c, &full_spec(Engine::AuroraMysql));
        assert_eq!(my.get_password_length(), &Some(41));
        let pg = random_password(&c, &full_spec(Engine::Postgres));
        assert!(pg.get_password_length().is_some_and(|n| n <= 128));
        for b in [my, pg] {
            let excluded = b.get_exclude_characters().clone().unwrap_or_default();
            for ch in ['/', '@', '"', ' '] {
                assert!(excluded.contains(ch), "{ch}");
            }
            assert_eq!(b.get_include_space(), &Some(false));
        }
    }

    #[test]
    fn secret_request_is_tagged_and_shaped() {
        let c = AwsClients::offline("us-east-1");
        let spec = full_spec(Engine::AuroraPostgresql);
        let secret = initial_secret(&spec, Secret::new("pw-123456789"));
        assert_eq!(secret.db_cluster_identifier.as_deref(), Some("shop"));
        assert_eq!(secret.engine, "postgres");
        let b = create_secret(&c, &spec, &secret);
        assert_eq!(b.get_name().as_deref(), Some("ferry/shop"));
        let tags: Vec<_> = b
            .get_tags()
            .iter()
            .flatten()
            .map(|t| (t.key().unwrap_or(""), t.value().unwrap_or("")))
            .collect();
        assert!(tags.contains(&("ferry:name", "shop")));
        assert!(tags.contains(&("ferry:role", "secret")));
        assert!(!format!("{:?}", secret_settings(&b, &spec)).contains("pw-123456789"));
    }
}
