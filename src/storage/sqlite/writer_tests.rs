//! The writer when SQLite rolls a transaction back by itself, and when an
//! fsync fails: nothing is acknowledged that did not commit durably, and
//! nothing is kept that was answered with an error.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::super::cache::Hot;
use super::super::durability::SyncFn;
use super::super::job::JobCtx;
use super::Writer;
use crate::storage::StorageError;

fn writer(sync: Option<SyncFn>) -> Writer {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch("CREATE TABLE t(x INTEGER)").unwrap();
    Writer::spawn(conn, Arc::new(Hot::default()), sync)
}

/// A job holding the writer until `release` is sent, so the jobs queued
/// meanwhile run as one group.
async fn hold(w: &Writer) -> (std_mpsc::Sender<()>, tokio::task::JoinHandle<()>) {
    let (release, wait) = std_mpsc::channel::<()>();
    let (running, started) = tokio::sync::oneshot::channel();
    let w2 = w.clone();
    let held = tokio::spawn(async move {
        w2.run(move |_, _| {
            let _ = running.send(());
            wait.recv().ok();
            Ok(())
        })
        .await
        .unwrap();
    });
    started.await.unwrap();
    (release, held)
}

type JobBox = Box<dyn FnOnce(&Connection, &mut JobCtx<'_>) -> Result<(), StorageError> + Send>;

fn insert(x: i64) -> JobBox {
    Box::new(move |c, _| {
        c.execute("INSERT INTO t(x) VALUES (?1)", [x])?;
        Ok(())
    })
}

async fn stored(w: &Writer) -> Vec<i64> {
    w.run(|c, _| {
        let mut stmt = c.prepare("SELECT x FROM t ORDER BY x")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<i64>, _>>()?)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_transaction_sqlite_rolled_back_fails_its_group_and_the_rest_commit_apart() {
    let w = writer(None);
    let (release, held) = hold(&w).await;
    let queue = |f: JobBox| {
        let w = w.clone();
        tokio::spawn(async move { w.run_single_write(f).await })
    };
    let first = queue(insert(1));
    // What SQLite does by itself after a full disk or an I/O error.
    let lost = queue(Box::new(|c, _| {
        c.execute("INSERT INTO t(x) VALUES (2)", [])?;
        c.execute_batch("ROLLBACK")?;
        Ok(())
    }));
    let after = queue(insert(3));
    tokio::time::sleep(Duration::from_millis(100)).await;
    release.send(()).unwrap();
    held.await.unwrap();
    for job in [first, lost] {
        let answer = job.await.unwrap();
        assert!(
            matches!(answer, Err(StorageError::Unavailable(_))),
            "{answer:?}"
        );
    }
    after.await.unwrap().unwrap();
    assert_eq!(
        stored(&w).await,
        vec![3],
        "only what was acknowledged is kept"
    );
}

#[tokio::test]
async fn a_failed_fsync_acknowledges_nothing_more_and_says_so() {
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let failing = fail.clone();
    let sync: SyncFn = Box::new(
        move || match failing.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(std::io::Error::other("injected EIO")),
            false => Ok(()),
        },
    );
    let w = writer(Some(sync));
    w.run(insert(1)).await.unwrap();
    w.check().unwrap();
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let answer = w.run(insert(2)).await;
    assert!(
        matches!(answer, Err(StorageError::Unavailable(_))),
        "{answer:?}"
    );
    assert!(matches!(w.check(), Err(StorageError::Unavailable(_))));
    // Even once the disk answers again: the lost pages cannot be vouched for.
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let answer = w.run(insert(3)).await;
    assert!(
        matches!(answer, Err(StorageError::Unavailable(_))),
        "{answer:?}"
    );
    assert!(w.check().is_err());
}
