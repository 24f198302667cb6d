use std::sync::atomic::AtomicUsize;

use super::*;
use crate::domain::bins::Bins;

fn arrays(likes: i64) -> Figures {
    let mut arrays = FenwickArrays::from_rows(&Default::default(), Bins::new(8));
    arrays.add(Category::Likes, 0, likes);
    Figures::new(arrays, None)
}

fn likes(f: &Figures) -> i64 {
    f.arrays.stats(&likes_prompt(), 0).likes
}

fn likes_prompt() -> crate::domain::prompt::Prompt {
    serde_json::from_value(serde_json::json!({"style": "press", "text": "t"})).unwrap()
}

#[tokio::test]
async fn concurrent_readers_share_one_read_and_a_stale_copy_is_never_served() {
    let slots: Slots<i64, usize> = Slots::default();
    let reads = Arc::new(AtomicUsize::new(0));
    let read = |reads: Arc<AtomicUsize>| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(reads.fetch_add(1, Ordering::SeqCst) + 1)
    };
    let slot = slots.slot(&1);
    let all = futures::future::join_all((0..20).map(|_| {
        let (slot, reads) = (slot.clone(), reads.clone());
        async move { *slot.get(move || read(reads)).await.unwrap() }
    }))
    .await;
    assert!(all.iter().all(|&v| v == 1), "{all:?}");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    // Past the bound, the next request waits for a fresh read.
    tokio::time::sleep(STALENESS_BOUND).await;
    let r = reads.clone();
    assert_eq!(*slot.get(move || read(r)).await.unwrap(), 2);
}

#[tokio::test]
async fn this_process_s_commits_patch_an_exact_copy_and_drop_an_uncertain_one() {
    let cache = ReadCache::default();
    let slot = cache.figures.slot(&7);
    let got = slot.get(|| async { Ok(arrays(3)) }).await.unwrap();
    assert_eq!(likes(&got), 3);
    // A commit after the read is added to the copy.
    slot.begin();
    slot.end(Some(&[(Category::Likes, 0, 2)]));
    let got = slot.get(|| async { Ok(arrays(100)) }).await.unwrap();
    assert_eq!(likes(&got), 5, "patched, not read again");
    // A commit that may or may not be in the read: the copy is served
    // while it commits, and read again once it ended.
    tokio::time::sleep(STALENESS_BOUND).await;
    slot.begin();
    let got = slot.get(|| async { Ok(arrays(6)) }).await.unwrap();
    assert_eq!(likes(&got), 6);
    let got = slot.get(|| async { Ok(arrays(100)) }).await.unwrap();
    assert_eq!(likes(&got), 6, "served while the commit is under way");
    slot.end(Some(&[(Category::Likes, 0, 1)]));
    let got = slot.get(|| async { Ok(arrays(7)) }).await.unwrap();
    assert_eq!(likes(&got), 7, "read again after it ended");
    // A failed commit drops the copy too.
    slot.begin();
    slot.end(None);
    let got = slot.get(|| async { Ok(arrays(8)) }).await.unwrap();
    assert_eq!(likes(&got), 8);
}
