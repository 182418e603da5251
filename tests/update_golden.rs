//! `update-golden`: rewrites the golden DDL files of `fixtures/expected/` from what
//! `ferry schema` prints now (run it through `scripts/update-golden`, which builds ferry and
//! sets `FERRY_BIN`). The tests only ever compare against these files.

use ferry_tests::golden::Golden;

fn main() {
    let mut changed = 0;
    for g in Golden::all() {
        let text = g.render();
        let file = g.file();
        let old = std::fs::read_to_string(&file).ok();
        if old.as_deref() == Some(text.as_str()) {
            println!("unchanged {}", file.display());
            continue;
        }
        if let Err(e) = std::fs::write(&file, &text) {
            eprintln!("error: {}: {e}", file.display());
            std::process::exit(2);
        }
        changed += 1;
        println!("updated   {} ({})", file.display(), g.describe());
    }
    println!("{changed} file(s) changed; review them with `git diff fixtures/expected`");
}
