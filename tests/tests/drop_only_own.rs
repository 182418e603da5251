//! ferry drops only what it made: a same-named type, domain or table the user already had
//! is refused before anything is created, `--if-exists drop` drops exactly the objects of
//! its plan and refuses (naming it) when anything else depends on them, and a resume after
//! a failed first run drops only what that run recorded creating. Never `CASCADE`.

use ferry_tests::{ferry, MyDb, PgDb, TempDir};

/// A PostgreSQL source with an enum type, a domain, and two tables using them.
fn pg_source(domain_check: &str) -> PgDb {
    let src = PgDb::new("drop_src");
    src.exec(&format!(
        "CREATE FUNCTION is_email(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t LIKE '%@%' $$;
         CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE DOMAIN email AS text CHECK ({domain_check});
         CREATE TABLE people (id int PRIMARY KEY, m mood NOT NULL, e email);
         CREATE TABLE pets (id int PRIMARY KEY, owner int REFERENCES people(id), name text);
         INSERT INTO people VALUES (1, 'ok', 'a@b'), (2, 'sad', 'c@d'), (3, 'happy', NULL);
         INSERT INTO pets VALUES (1, 1, 'rex'), (2, 3, 'tom');"
    ));
    src
}

fn migrate(from: &str, to: &str, extra: &[&str]) -> ferry_tests::Run {
    let mut args = vec!["migrate", "--from", from, "--to", to];
    args.extend(extra);
    ferry(&args)
}

fn assert_untouched_diary(target: &PgDb) {
    // The user's own table still has its column of the user's own type, and its rows.
    assert_eq!(
        target
            .text("SELECT string_agg(id || ':' || m::text, ',' ORDER BY id) FROM diary")
            .as_deref(),
        Some("1:x,2:y")
    );
    assert_eq!(
        target
            .text("SELECT string_agg(e, ',') FROM contacts")
            .as_deref(),
        Some("no at sign")
    );
    assert_eq!(
        target
            .text("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = 'mood'::regtype")
            .as_deref(),
        Some("x,y")
    );
}

#[test]
fn a_user_type_or_domain_named_like_one_ferry_creates_is_refused_not_dropped() {
    let src = pg_source("VALUE LIKE '%@%'");
    let target = PgDb::new("drop_tgt");
    target.exec(
        "CREATE TYPE mood AS ENUM ('x', 'y');
         CREATE TABLE diary (id int PRIMARY KEY, m mood);
         INSERT INTO diary VALUES (1, 'x'), (2, 'y');
         CREATE DOMAIN email AS text;
         CREATE TABLE contacts (e email);
         INSERT INTO contacts VALUES ('no at sign');",
    );

    // Refused before anything is created, naming both.
    let run = migrate(&src.url, &target.url, &[]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("type public.mood"), "{}", run.all());
    assert!(run.stderr.contains("domain public.email"), "{}", run.all());
    assert_eq!(
        target
            .text("SELECT count(*) FROM pg_tables WHERE tablename IN ('people', 'pets', '_ferry_progress')")
            .as_deref(),
        Some("0"),
        "nothing is created by a refused run"
    );
    assert_untouched_diary(&target);

    // A resume of that refused run has nothing to resume and drops nothing.
    let run = migrate(&src.url, &target.url, &["--resume"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("type public.mood"), "{}", run.all());
    assert_untouched_diary(&target);

    // --if-exists drop would drop the user's type and domain, on which the user's tables
    // depend: refused, naming them, and nothing is dropped.
    let run = migrate(&src.url, &target.url, &["--if-exists", "drop"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("diary"), "{}", run.all());
    assert!(run.stderr.contains("CASCADE"), "{}", run.all());
    assert_untouched_diary(&target);
    assert_eq!(
        target
            .text("SELECT count(*) FROM pg_tables WHERE tablename IN ('people', 'pets', '_ferry_progress')")
            .as_deref(),
        Some("0")
    );
}

#[test]
fn if_exists_drop_names_what_it_drops_and_drops_nothing_else() {
    let src = pg_source("VALUE LIKE '%@%'");

    // A table of the plan that nothing else needs is dropped, named; the rest stays.
    let target = PgDb::new("drop_tgt_ok");
    target.exec(
        "CREATE TABLE people (old_column text);
         INSERT INTO people VALUES ('old');
         CREATE TABLE keep_me (id int);
         INSERT INTO keep_me VALUES (7);",
    );
    let run = migrate(&src.url, &target.url, &["--if-exists", "drop"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr
            .contains("dropping 1 object(s) of the plan the target has: table public.people"),
        "{}",
        run.all()
    );
    assert_eq!(
        target.text("SELECT count(*) FROM people").as_deref(),
        Some("3")
    );
    assert_eq!(
        target.text("SELECT sum(id) FROM keep_me").as_deref(),
        Some("7")
    );
    let verify = ferry(&[
        "verify",
        "--from",
        &src.url,
        "--to",
        &target.url,
        "--content",
    ]);
    assert_eq!(verify.code, 0, "{}", verify.all());

    // A foreign key of a table outside the plan references a table of the plan: refused,
    // named, and the key and both tables stay as they were.
    let target = PgDb::new("drop_tgt_fk");
    target.exec(
        "CREATE TABLE people (id int PRIMARY KEY);
         INSERT INTO people VALUES (1);
         CREATE TABLE fans (p int CONSTRAINT fans_of_people REFERENCES people(id));
         INSERT INTO fans VALUES (1);
         CREATE VIEW people_view AS SELECT id FROM people;",
    );
    let run = migrate(&src.url, &target.url, &["--if-exists", "drop"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("fans_of_people"), "{}", run.all());
    assert!(run.stderr.contains("people_view"), "{}", run.all());
    assert_eq!(
        target
            .text("SELECT count(*) FROM pg_constraint WHERE conname = 'fans_of_people'")
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        target.text("SELECT count(*) FROM people_view").as_deref(),
        Some("1")
    );
    assert_eq!(
        target
            .text("SELECT to_regtype('mood') IS NULL AND to_regclass('_ferry_progress') IS NULL")
            .as_deref(),
        Some("true"),
        "nothing was created either"
    );
}

#[test]
fn a_resume_after_a_failed_first_run_drops_only_what_that_run_made() {
    // The domain's CHECK calls a function the target lacks: the first run stops while
    // creating its types, after it recorded what it makes.
    let src = pg_source("is_email(VALUE)");
    let target = PgDb::new("drop_tgt_resume");
    target.exec("CREATE TABLE notes (id int); INSERT INTO notes VALUES (1), (2);");
    let run = migrate(&src.url, &target.url, &[]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("is_email"), "{}", run.all());
    assert_eq!(
        target
            .text("SELECT to_regtype('mood') IS NOT NULL")
            .as_deref(),
        Some("true"),
        "the first run created the enum before it failed"
    );

    // Meanwhile the user builds on ferry's type: a resume must not take the user's
    // column with it (no CASCADE), it refuses naming the table.
    target.exec(
        "CREATE TABLE diary (id int, m mood);
         INSERT INTO diary VALUES (1, 'ok');
         CREATE FUNCTION is_email(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT t LIKE '%@%' $$;",
    );
    let run = migrate(&src.url, &target.url, &["--resume"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("diary"), "{}", run.all());
    assert_eq!(
        target.text("SELECT m::text FROM diary").as_deref(),
        Some("ok")
    );

    // Once nothing else depends on them, the resume drops what the first run made and
    // finishes; the user's unrelated table is untouched.
    target.exec("DROP TABLE diary");
    let run = migrate(&src.url, &target.url, &["--resume"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        target.text("SELECT sum(id) FROM notes").as_deref(),
        Some("3")
    );
    let verify = ferry(&[
        "verify",
        "--from",
        &src.url,
        "--to",
        &target.url,
        "--content",
    ]);
    assert_eq!(verify.code, 0, "{}", verify.all());
}

#[test]
fn mysql_if_exists_drop_refuses_a_table_an_outside_foreign_key_references() {
    let tmp = TempDir::new("drop-my");
    let file = tmp.join("src.db");
    let c = rusqlite::Connection::open(&file).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO people VALUES (1, 'ann'), (2, 'bob');",
    )
    .expect("source");
    drop(c);
    let from = format!("sqlite:{}", file.display());
    let target = MyDb::new("drop_my");
    target.exec(
        "CREATE TABLE people (id INT PRIMARY KEY) ENGINE=InnoDB;
         INSERT INTO people VALUES (1);
         CREATE TABLE fans (p INT, CONSTRAINT fans_of_people FOREIGN KEY (p) REFERENCES people(id)) ENGINE=InnoDB;
         INSERT INTO fans VALUES (1);",
    );
    let run = migrate(&from, &target.url, &["--if-exists", "drop"]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("fans_of_people"), "{}", run.all());
    assert_eq!(
        target.text("SELECT count(*) FROM people").as_deref(),
        Some("1")
    );
    assert_eq!(
        target
            .text("SELECT count(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'fans_of_people'")
            .as_deref(),
        Some("1")
    );

    // Without the outside key, the plan's table is dropped, named, and replaced.
    target.exec("DROP TABLE fans");
    let run = migrate(&from, &target.url, &["--if-exists", "drop"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("table people"), "{}", run.all());
    assert_eq!(
        target.text("SELECT count(*) FROM people").as_deref(),
        Some("2")
    );
}
