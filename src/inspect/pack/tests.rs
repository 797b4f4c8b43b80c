use super::*;
use crate::inspect::archive::LIMITS;
use crate::inspect::git_delta::tests::size;
use crate::test_support::compress::zlib;

fn header(kind: u8, size: usize) -> Vec<u8> {
    let mut out = vec![(kind << 4) | (size & 0x0F) as u8];
    let mut rest = size >> 4;
    while rest > 0 {
        *out.last_mut().unwrap() |= 0x80;
        out.push((rest & 0x7F) as u8);
        rest >>= 7;
    }
    out
}

fn whole(kind: u8, bytes: &[u8]) -> Vec<u8> {
    [header(kind, bytes.len()), zlib(bytes)].concat()
}

/// An OFS_DELTA `distance` bytes after its base (a distance under 128).
fn ofs_delta(distance: usize, delta: &[u8]) -> Vec<u8> {
    [header(6, delta.len()), vec![distance as u8], zlib(delta)].concat()
}

fn ref_delta(base: &[u8], delta: &[u8]) -> Vec<u8> {
    [header(7, delta.len()), base.to_vec(), zlib(delta)].concat()
}

fn pack_of(entries: &[Vec<u8>], after: &[u8]) -> Vec<u8> {
    let mut pack = [&b"PACK\0\0\0\x02"[..], &(entries.len() as u32).to_be_bytes()].concat();
    entries.iter().for_each(|entry| pack.extend(entry));
    pack.extend(Hash::Sha1.digest(&[&pack]));
    pack.extend(after);
    pack
}

fn members(pack: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let budget = RefCell::new(Budget::new(LIMITS));
    let mut found = Vec::new();
    objects(pack, 1 << 30, &budget, &mut |m| found.push((m.name, m.bytes)))?;
    Ok(found)
}

fn blob_name(bytes: &[u8]) -> String {
    format!("blob-{}", hex(&Hash::Sha1.object_id(Kind::Blob, bytes)))
}

#[test]
fn every_kind_of_entry_becomes_a_member_named_by_its_id_and_a_blob_by_its_path_too() {
    let base = b"line one\nline two\nline three\n".to_vec();
    let first = whole(3, &base);
    // "line one\n" + "KEY=1\n" + the rest, against the blob.
    let delta = [
        size(base.len()),
        size(base.len() + 6),
        vec![0x90, 9, 6],
        b"KEY=1\n".to_vec(),
        vec![0x91, 9, 20],
    ]
    .concat();
    let second = ofs_delta(first.len(), &delta);
    let base_id = Hash::Sha1.object_id(Kind::Blob, &base);
    let third = ref_delta(
        &base_id,
        &[size(base.len()), size(4), vec![4], b"new\n".to_vec()].concat(),
    );
    let missing = ref_delta(
        &[7; 20],
        &[size(99), size(12), vec![0x90, 5], vec![7], b"TOKEN=x".to_vec()].concat(),
    );
    // The tree names the first blob; the file it names `id_rsa` is not in the pack.
    let tree = [
        &b"100644 id_rsa\0"[..],
        &[9; 20],
        b"100644 notes.txt\0",
        &base_id,
        b"40000 src\0",
        &[8; 20],
    ]
    .concat();
    let pack = pack_of(&[first, second, third, missing, whole(2, &tree)], b"left over");
    assert!(is_pack(&pack));
    let found = members(&pack).unwrap();
    let names: Vec<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    let with_key = b"line one\nKEY=1\nline two\nline three\n";
    let tree_name = format!("tree-{}", hex(&Hash::Sha1.object_id(Kind::Tree, &tree)));
    let first_offset = 12 + whole(3, &base).len();
    let missing_offset = first_offset
        + ofs_delta(1, &delta).len()
        + ref_delta(
            &base_id,
            &[size(base.len()), size(4), vec![4], b"new\n".to_vec()].concat(),
        )
        .len();
    assert_eq!(
        names,
        [
            tree_name,
            "bytes-after-the-objects".to_string(),
            format!("{}/notes.txt", blob_name(&base)),
            blob_name(with_key),
            blob_name(b"new\n"),
            format!("inserted-by-delta-{missing_offset}"),
        ]
    );
    assert_eq!(found[0].1, b"100644 id_rsa\n100644 notes.txt\n40000 src\n");
    // The checksum and what follows it: which bytes are which is not known.
    assert!(found[1].1.ends_with(b"left over") && found[1].1.len() == 20 + 9);
    assert_eq!(found[2].1, base);
    assert_eq!(found[3].1, with_key);
    assert_eq!(found[5].1, b"TOKEN=x");
}

#[test]
fn recognition_needs_more_than_the_signature() {
    let pack = pack_of(&[whole(3, b"x")], b"");
    assert!(is_pack(&pack));
    assert!(!is_pack(&pack_of(&[], b"")), "an empty pack holds nothing");
    let mut version_4 = pack.clone();
    version_4[7] = 4;
    assert!(!is_pack(&version_4));
    assert!(
        !is_pack(b"PACK\0\0\0\x02\0\0\0\x01\x35\xff\xff"),
        "no zlib stream"
    );
    assert!(!is_pack(b"PACKAGE: 1.0\n"));
}

#[test]
fn a_delta_chain_longer_than_gits_bound_is_an_error() {
    let mut entries = vec![whole(3, b"a")];
    let step = [size(1), size(1), vec![1, b'a']].concat();
    for _ in 0..=MAX_CHAIN {
        entries.push(ofs_delta(ofs_delta(1, &step).len(), &step));
    }
    // The first delta's distance is the blob's length, not a delta's.
    entries[1] = ofs_delta(entries[0].len(), &step);
    assert_eq!(entries[1].len(), entries[2].len());
    let err = members(&pack_of(&entries, b"")).unwrap_err();
    assert!(err.contains("a delta chain longer than 4095"), "{err}");
}
