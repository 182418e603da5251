//! A MySQL/MariaDB `FLOAT` keeps every digit of the stored single: the server sends a FLOAT
//! as text with 6 significant digits, so a reader that took that text moved 16777216 as
//! 16777200 (found by `ferry bench --profile wide` into MariaDB, whose content verification
//! read the target's FLOAT column the same way).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferry_tests::{ferry, MyDb, PgDb};

#[test]
fn mysql_float_values_arrive_exactly_in_postgres() {
    let my = MyDb::new("float_src");
    my.exec(
        "CREATE TABLE f (id INT PRIMARY KEY, v FLOAT, w FLOAT(7,4));
         INSERT INTO f VALUES (1, 16777216, 1.5), (2, -120229.5625, -123.4567), (3, 0.1, NULL),
           (4, 3.4028234e38, 0), (5, NULL, 999.9999), (6, 1.17549435e-38, -0.0001)",
    );
    let pg = PgDb::new("float_dst");
    let r = ferry(&[
        "migrate", "--from", &my.url, "--to", &pg.url, "--verify", "content",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    let got = pg
        .text("SELECT string_agg(coalesce(v::text, 'null') || '/' || coalesce(w::text, 'null'), ' ' ORDER BY id) FROM f")
        .expect("rows");
    assert_eq!(
        got,
        "1.6777216e+07/1.5 -120229.56/-123.4567 0.1/null 3.4028235e+38/0 null/999.9999 1.1754944e-38/-0.0001"
    );
    // Every stored single, exactly: real -> double in PostgreSQL is exact too.
    let exact = pg
        .text("SELECT string_agg(v::float8::text, ' ' ORDER BY id) FROM f WHERE v IS NOT NULL")
        .expect("rows");
    let want = my
        .text("SELECT GROUP_CONCAT(v + 0e0 ORDER BY id SEPARATOR ' ') FROM f WHERE v IS NOT NULL")
        .expect("rows");
    let parse = |s: &str| -> Vec<f64> { s.split(' ').map(|x| x.parse().expect(x)).collect() };
    assert_eq!(parse(&exact), parse(&want));
}
