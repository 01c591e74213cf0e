use super::*;
use std::time::SystemTime;

fn batch(tag: u8, len: usize, samples: u64) -> Batch {
    Batch {
        body: vec![tag; len].into(),
        samples,
        created_at: SystemTime::now(),
    }
}

fn tags(queue: &mut DiskQueue) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(Ok(stored)) = queue.peek(false) {
        out.push(stored.batch.body[0]);
        queue.ack(stored.entry.seq);
    }
    out
}

#[test]
fn batches_survive_a_restart_in_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
        for tag in 1..=3 {
            assert!(
                queue
                    .append(&batch(tag, 100, tag as u64))
                    .unwrap()
                    .is_empty()
            );
        }
        let newest = queue.peek(true).unwrap().unwrap();
        assert_eq!(newest.batch.body[0], 3);
        assert_eq!(newest.batch.samples, 3);
        // Acknowledge the first only; the process "dies" here.
        let first = queue.peek(false).unwrap().unwrap();
        queue.ack(first.entry.seq);
    }
    let mut reopened = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(reopened.len(), 2);
    assert_eq!(reopened.bytes(), 2 * (HEADER as u64 + 100));
    reopened.append(&batch(4, 10, 1)).unwrap();
    assert_eq!(
        tags(&mut reopened),
        [2, 3, 4],
        "new appends go after the old ones"
    );
    assert!(reopened.is_empty());
}

#[test]
fn prepend_puts_halves_at_the_head_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    queue.append(&batch(9, 10, 1)).unwrap();
    queue.prepend(&[batch(1, 10, 1), batch(2, 10, 1)]).unwrap();
    queue.prepend(&[batch(0, 10, 1)]).unwrap();
    drop(queue);
    let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(tags(&mut queue), [0, 1, 2, 9]);
}

#[test]
fn the_bound_drops_the_oldest_and_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    let record = HEADER as u64 + 100;
    let mut queue = DiskQueue::open(dir.path(), record * 3).unwrap();
    for tag in 1..=3 {
        assert!(queue.append(&batch(tag, 100, 10)).unwrap().is_empty());
    }
    let dropped = queue.append(&batch(4, 100, 10)).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].samples, 10);
    assert_eq!(queue.bytes(), record * 3);
    assert_eq!(tags(&mut queue), [2, 3, 4]);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "dropped files are deleted"
    );
}

#[test]
fn a_corrupt_record_is_reported_removed_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    queue.append(&batch(1, 50, 5)).unwrap();
    queue.append(&batch(2, 50, 5)).unwrap();
    let first = dir.path().join(format!("{FIRST_SEQ:020}.batch"));
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[HEADER + 3] ^= 0xff;
    std::fs::write(&first, bytes).unwrap();
    match queue.peek(false) {
        Some(Err((entry, QueueError::Corrupt { reason, .. }))) => {
            assert_eq!(entry.samples, 5);
            assert!(reason.contains("checksum"), "{reason}");
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
    assert!(!first.exists());
    assert_eq!(tags(&mut queue), [2]);
}

#[test]
fn truncated_and_leftover_files_are_cleaned_at_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
        queue.append(&batch(1, 50, 5)).unwrap();
        queue.append(&batch(2, 50, 5)).unwrap();
    }
    std::fs::write(dir.path().join("00000000000000000001.tmp"), b"half a write").unwrap();
    let second = dir.path().join(format!("{:020}.batch", FIRST_SEQ + 1));
    std::fs::write(&second, b"PPQ").unwrap();
    let mut queue = DiskQueue::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(tags(&mut queue), [1]);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_unusable_directory_is_a_clear_error() {
    let err = DiskQueue::open(Path::new("/dev/null/queue"), 1 << 20)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/dev/null/queue") && err.contains("--buffer-dir"),
        "{err}"
    );
}

/// A real full disk: a 64 KiB tmpfs. Writes fail with ENOSPC and are reported; nothing
/// already queued is lost, and writing works again once space is freed.
#[test]
fn a_full_disk_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .expect("run mount");
    assert!(
        mounted.success(),
        "this test mounts a small tmpfs to fill a disk for real: run it as root (the README's test command does)"
    );
    let result = std::panic::catch_unwind(|| {
        let mut queue = DiskQueue::open(dir.path(), 1 << 30).unwrap();
        let mut stored = 0;
        let err = loop {
            match queue.append(&batch(7, 8 * 1024, 1)) {
                Ok(_) => stored += 1,
                Err(err) => break err,
            }
            assert!(stored < 100, "a 64 KiB disk cannot take 800 KiB");
        };
        assert!(matches!(err, QueueError::Write { .. }), "{err}");
        assert!(err.to_string().to_lowercase().contains("no space"), "{err}");
        assert_eq!(queue.len(), stored);
        let first = queue.peek(false).unwrap().unwrap();
        queue.ack(first.entry.seq);
        queue
            .append(&batch(8, 8 * 1024, 1))
            .expect("space was freed");
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "tmp")
            })
            .count();
        assert_eq!(leftovers, 0, "a failed write leaves no partial file");
    });
    let _ = std::process::Command::new("umount")
        .arg(dir.path())
        .status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
