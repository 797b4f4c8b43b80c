//! A git pack file (`objects/pack/pack-<id>.pack`, or what `git pack-objects` writes): the
//! objects of a packed repository, each a zlib stream behind a header of its own, many of them
//! deltas against another object. A repository committed as a fixture keeps its whole history
//! here, so each object is inflated, each delta resolved against its base, and every object
//! becomes a member named by its type and id (`pack-1.pack!/blob-<id>`: `git cat-file -p <id>`
//! in that repository shows it), and a blob by the paths the pack's trees give it too
//! (`blob-<id>/home/.bash_history`, `trees.rs`), read under the same bounds as an archive's
//! members. A delta
//! whose base is not in the pack (a thin pack, as a push sends) cannot be resolved: the bytes
//! it inserts, the text it adds, are a member of their own (`inserted-by-delta-<offset>`).

use std::cell::RefCell;
use std::collections::HashMap;

use sha2::Digest as _;

use super::archive::{room, Budget, Member};
use super::git_delta::{apply, inserted, DeltaError};

mod trees;

/// The longest delta chain resolved: git's own bound (`pack-objects --depth`).
const MAX_CHAIN: usize = 4095;

/// Whether a file whose first block this is is a git pack: the signature, version 2 or 3, at
/// least one object, and a first object whose header has a type and is followed by a zlib
/// header. `PACK` alone could begin any binary, and an empty pack holds nothing to open.
pub fn is_pack(first_block: &[u8]) -> bool {
    let Some(count) = object_count(first_block) else {
        return false;
    };
    let Some((kind, _, at)) = entry_header(first_block, 12) else {
        return false;
    };
    let zlib_at = |data: usize| matches!(first_block.get(data..data + 2), Some(&[cmf, flg]) if is_zlib_header(cmf, flg));
    count > 0
        && match kind {
            1..=4 => zlib_at(at),
            // A first object cannot be a delta against an earlier one; a thin pack's may be one
            // against an object it lacks, named by a SHA-1 or a SHA-256 id.
            7 => zlib_at(at + 20) || zlib_at(at + 32),
            _ => false,
        }
}

fn object_count(pack: &[u8]) -> Option<u32> {
    let version = u32::from_be_bytes(pack.get(4..8)?.try_into().ok()?);
    let count = u32::from_be_bytes(pack.get(8..12)?.try_into().ok()?);
    (pack.starts_with(b"PACK") && (version == 2 || version == 3)).then_some(count)
}

fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0F == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// An entry's header at `at`: its type code, its size, and where what follows it starts.
fn entry_header(pack: &[u8], mut at: usize) -> Option<(u8, u64, usize)> {
    let first = *pack.get(at)?;
    at += 1;
    let kind = (first >> 4) & 7;
    let mut size = u64::from(first & 0x0F);
    let mut shift = 4;
    let mut byte = first;
    while byte & 0x80 != 0 {
        byte = *pack.get(at)?;
        at += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(byte & 0x7F) << shift;
        shift += 7;
    }
    Some((kind, size, at))
}

/// The type of a whole object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
            Kind::Tag => "tag",
        }
    }
}

/// What an entry holds.
#[derive(Debug, Clone, Copy)]
enum What<'p> {
    Whole(Kind),
    /// A delta against an earlier entry (its index; the pack names it by its offset).
    OfsDelta(usize),
    /// A delta against the object with this id.
    RefDelta(&'p [u8]),
}

struct Entry<'p> {
    offset: usize,
    what: What<'p>,
    size: u64,
    /// The zlib stream, up to the next entry.
    data: std::ops::Range<usize>,
}

/// The hash a pack's objects are named by: SHA-256 when the trailer is a SHA-256 checksum of
/// the pack (a repository made with `--object-format=sha256`), SHA-1 otherwise.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
}

impl Hash {
    fn of(pack: &[u8]) -> Hash {
        let trailer_is = |hash: Hash| {
            let len = hash.len();
            pack.len() >= 12 + len && hash.digest(&[&pack[..pack.len() - len]]) == pack[pack.len() - len..]
        };
        if !trailer_is(Hash::Sha1) && trailer_is(Hash::Sha256) {
            Hash::Sha256
        } else {
            Hash::Sha1
        }
    }

    fn len(self) -> usize {
        match self {
            Hash::Sha1 => 20,
            Hash::Sha256 => 32,
        }
    }

    fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Hash::Sha1 => {
                let mut hasher = sha1_smol::Sha1::new();
                parts.iter().for_each(|part| hasher.update(part));
                hasher.digest().bytes().to_vec()
            }
            Hash::Sha256 => {
                let mut hasher = sha2::Sha256::new();
                parts.iter().for_each(|part| hasher.update(part));
                hasher.finalize().to_vec()
            }
        }
    }

    /// An object's id: the hash of `<type> <size>\0` and its bytes.
    fn object_id(self, kind: Kind, bytes: &[u8]) -> Vec<u8> {
        let header = format!("{} {}\0", kind.name(), bytes.len());
        self.digest(&[header.as_bytes(), bytes])
    }
}

fn hex(id: &[u8]) -> String {
    id.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A pack being read.
struct Pack<'p, 'v> {
    pack: &'p [u8],
    hash: Hash,
    entries: Vec<Entry<'p>>,
    largest: u64,
    budget: &'v RefCell<Budget>,
    visit: &'v mut dyn FnMut(Member),
    trees: trees::Trees,
    /// The paths the trees give each blob, once every tree is read.
    blob_paths: trees::BlobPaths,
}

/// Every object of the pack `pack`, handed to `visit`: whole objects other than blobs in the
/// pack's order, then the deltas resolved from them; then, their trees read, the blobs and the
/// deltas resolved from each; then what the deltas that could not be resolved insert.
pub fn objects(
    pack: &[u8],
    largest: u64,
    budget: &RefCell<Budget>,
    visit: &mut dyn FnMut(Member),
) -> Result<(), String> {
    let count = object_count(pack).ok_or("not a git pack")?;
    let mut reader = Pack {
        pack,
        hash: Hash::of(pack),
        entries: Vec::with_capacity((count as usize).min(pack.len() / 4)),
        largest,
        budget,
        visit,
        trees: trees::Trees::default(),
        blob_paths: trees::BlobPaths::new(),
    };
    let ids = reader.read_entries(count)?;
    let mut deltas = reader.deltas_by_base();
    let mut done = vec![false; reader.entries.len()];
    // Trees (commits and tags with them) first: the blobs are named by what the trees hold.
    for blobs in [false, true] {
        if blobs {
            reader.blob_paths = reader.trees.blob_paths()?;
        }
        for (index, id) in ids.iter().enumerate() {
            let (Some(id), What::Whole(kind)) = (id, reader.entries[index].what) else {
                continue;
            };
            if (kind == Kind::Blob) != blobs {
                continue;
            }
            let children = deltas.take(index, id);
            if !blobs && children.is_empty() {
                continue; // Handed on when read.
            }
            let bytes = reader.inflate(index)?;
            let stored = reader.stored(index);
            if blobs {
                if children.is_empty() {
                    reader.emit(kind, id, bytes, stored)?;
                    continue;
                }
                reader.emit(kind, id, bytes.clone(), stored)?;
            }
            reader.resolve(kind, bytes, stored, children, &mut deltas, &mut done)?;
        }
    }
    // What is left are deltas whose base is not in the pack, and the deltas against those.
    let unresolved: Vec<usize> = (reader.entries.iter().zip(&done).enumerate())
        .filter(|(_, (entry, done))| !**done && !matches!(entry.what, What::Whole(_)))
        .map(|(index, _)| index)
        .collect();
    for index in unresolved {
        reader.unresolved(index)?;
    }
    Ok(())
}

/// Deltas waiting for their base: by the base's entry, or by its id.
struct Deltas {
    by_offset: HashMap<usize, Vec<usize>>,
    by_id: HashMap<Vec<u8>, Vec<usize>>,
}

impl Deltas {
    /// The deltas against entry `index`, whose id is `id`; each is handed out once.
    fn take(&mut self, index: usize, id: &[u8]) -> Vec<usize> {
        let mut children = self.by_offset.remove(&index).unwrap_or_default();
        children.extend(self.by_id.remove(id).unwrap_or_default());
        children
    }
}

/// A resolved object whose deltas are being resolved.
struct Frame {
    kind: Kind,
    bytes: Vec<u8>,
    stored: u64,
    depth: usize,
    children: Vec<usize>,
}

impl Pack<'_, '_> {
    /// Reads every entry's header and stream, hands on each whole object, and returns the ids
    /// of the whole ones (deltas get theirs when resolved).
    fn read_entries(&mut self, count: u32) -> Result<Vec<Option<Vec<u8>>>, String> {
        let pack = self.pack;
        let mut ids = Vec::with_capacity(self.entries.capacity());
        let mut at = 12;
        let mut by_offset = HashMap::new();
        for number in 1..=count {
            let broken = |why: &str| {
                format!("a git pack whose object {number} of {count} (at offset {at}) {why}; not inspected")
            };
            let Some((code, size, mut data)) = entry_header(pack, at) else {
                return Err(broken("is cut short or has no header"));
            };
            let what = match code {
                1 => What::Whole(Kind::Commit),
                2 => What::Whole(Kind::Tree),
                3 => What::Whole(Kind::Blob),
                4 => What::Whole(Kind::Tag),
                6 => {
                    let (distance, next) = base_distance(pack, data).ok_or_else(|| broken("is cut short"))?;
                    data = next;
                    let base = at
                        .checked_sub(distance)
                        .and_then(|base| by_offset.get(&base))
                        .ok_or_else(|| broken("is a delta against no object of the pack"))?;
                    What::OfsDelta(*base)
                }
                7 => {
                    let id = pack
                        .get(data..data + self.hash.len())
                        .ok_or_else(|| broken("is cut short"))?;
                    data += self.hash.len();
                    What::RefDelta(id)
                }
                _ => return Err(broken(&format!("has an unknown type ({code})"))),
            };
            let name = format!("object at offset {at}");
            self.check_room(&name, size)?;
            let (bytes, used) = inflate(&pack[data..], size).map_err(broken)?;
            by_offset.insert(at, self.entries.len());
            self.entries.push(Entry {
                offset: at,
                what,
                size,
                data: data..data + used,
            });
            at = data + used;
            ids.push(match what {
                What::Whole(kind) => {
                    let id = self.hash.object_id(kind, &bytes);
                    // A blob waits for the trees that name it; it is inflated again then.
                    if kind != Kind::Blob {
                        self.emit(kind, &id, bytes, used as u64)?;
                    }
                    Some(id)
                }
                _ => None,
            });
        }
        // What follows the last object is the pack's checksum; anything more is no object git
        // reads, but it is in the file: searched as a member of its own rather than dropped.
        let rest = &pack[at..];
        if rest.len() > self.hash.len() {
            let name = "bytes-after-the-objects".to_string();
            self.budget
                .borrow_mut()
                .take(&name, rest.len() as u64, rest.len() as u64)?;
            (self.visit)(Member {
                name,
                bytes: rest.to_vec(),
            });
        }
        Ok(ids)
    }

    fn deltas_by_base(&self) -> Deltas {
        let mut deltas = Deltas {
            by_offset: HashMap::new(),
            by_id: HashMap::new(),
        };
        for (index, entry) in self.entries.iter().enumerate() {
            match entry.what {
                What::OfsDelta(base) => deltas.by_offset.entry(base).or_default().push(index),
                What::RefDelta(id) => deltas.by_id.entry(id.to_vec()).or_default().push(index),
                What::Whole(_) => {}
            }
        }
        deltas
    }

    /// Resolves the deltas against one whole object, and the deltas against those, depth
    /// first: each object is built once, and a base is dropped once its last delta is built.
    fn resolve(
        &mut self,
        kind: Kind,
        bytes: Vec<u8>,
        stored: u64,
        mut children: Vec<usize>,
        deltas: &mut Deltas,
        done: &mut [bool],
    ) -> Result<(), String> {
        children.reverse();
        let mut stack = vec![Frame {
            kind,
            bytes,
            stored,
            depth: 0,
            children,
        }];
        while let Some(frame) = stack.last_mut() {
            let Some(child) = frame.children.pop() else {
                stack.pop();
                continue;
            };
            done[child] = true;
            let (kind, depth) = (frame.kind, frame.depth + 1);
            // A delta is built from its base and its own bytes: both are what it is stored in.
            let stored = frame.stored.saturating_add(self.stored(child));
            let name = format!("delta at offset {}", self.entries[child].offset);
            if depth > MAX_CHAIN {
                return Err(format!(
                    "a git pack with a delta chain longer than {MAX_CHAIN} (at {name}); not inspected"
                ));
            }
            let delta = self.inflate(child)?;
            let room = room(self.largest, &self.budget.borrow());
            let bytes = apply(&frame.bytes, &delta, room).map_err(|err| match err {
                DeltaError::TooLarge(size) => self.claims_past_room(&name, size, room),
                DeltaError::Broken(why) => format!("a git pack whose {name} {why}; not inspected"),
            })?;
            drop(delta);
            if frame.children.is_empty() {
                stack.pop();
            }
            let id = self.hash.object_id(kind, &bytes);
            let mut children = deltas.take(child, &id);
            if children.is_empty() {
                self.emit(kind, &id, bytes, stored)?;
            } else {
                self.emit(kind, &id, bytes.clone(), stored)?;
                children.reverse();
                stack.push(Frame {
                    kind,
                    bytes,
                    stored,
                    depth,
                    children,
                });
            }
        }
        Ok(())
    }

    /// A delta whose base is not in the pack: the bytes it inserts are the text it adds.
    fn unresolved(&mut self, index: usize) -> Result<(), String> {
        let offset = self.entries[index].offset;
        let delta = self.inflate(index)?;
        let bytes = inserted(&delta)
            .map_err(|why| format!("a git pack whose delta at offset {offset} {why}; not inspected"))?;
        let name = format!("inserted-by-delta-{offset}");
        self.budget
            .borrow_mut()
            .take(&name, bytes.len() as u64, self.stored(index))?;
        (self.visit)(Member { name, bytes });
        Ok(())
    }

    /// Hands on one object, taken out of the budget: a tree as the list of its entries' modes
    /// and names (a name can be a secret; the ids beside them are hashes, which would only
    /// read as keys to an entropy rule), a blob once under each path the trees give it, every
    /// other object as it is.
    fn emit(&mut self, kind: Kind, id: &[u8], bytes: Vec<u8>, stored: u64) -> Result<(), String> {
        let name = format!("{}-{}", kind.name(), hex(id));
        let bytes = match kind {
            Kind::Tree => {
                self.trees.add(id, &bytes, self.hash.len());
                trees::listing(&bytes, self.hash.len()).unwrap_or(bytes)
            }
            _ => bytes,
        };
        let paths = match kind {
            Kind::Blob => self.blob_paths.get(id).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        let Some((last, others)) = paths.split_last() else {
            return self.emit_as(name, bytes, stored);
        };
        for path in others {
            self.emit_as(format!("{name}/{path}"), bytes.clone(), stored)?;
        }
        self.emit_as(format!("{name}/{last}"), bytes, stored)
    }

    fn emit_as(&mut self, name: String, bytes: Vec<u8>, stored: u64) -> Result<(), String> {
        self.budget.borrow_mut().take(&name, bytes.len() as u64, stored)?;
        (self.visit)(Member { name, bytes });
        Ok(())
    }

    /// Entry `index` inflated again (its stream was read whole once already).
    fn inflate(&self, index: usize) -> Result<Vec<u8>, String> {
        let entry = &self.entries[index];
        let name = format!("object at offset {}", entry.offset);
        self.check_room(&name, entry.size)?;
        inflate(&self.pack[entry.data.clone()], entry.size)
            .map(|(bytes, _)| bytes)
            .map_err(|why| format!("a git pack whose {name} {why}; not inspected"))
    }

    /// What entry `index` is stored in: its header and stream.
    fn stored(&self, index: usize) -> u64 {
        let entry = &self.entries[index];
        (entry.data.end - entry.offset) as u64
    }

    /// A size an entry claims is refused before anything is inflated when it is past what a
    /// member may expand to: the claim alone is a bomb.
    fn check_room(&self, name: &str, size: u64) -> Result<(), String> {
        let room = room(self.largest, &self.budget.borrow());
        if size > room {
            return Err(self.claims_past_room(name, size, room));
        }
        Ok(())
    }

    fn claims_past_room(&self, name: &str, size: u64, room: u64) -> String {
        if room == self.largest {
            format!(
                "a git pack whose {name} claims {size} bytes, past --max-file-size ({room} bytes); not inspected"
            )
        } else {
            format!(
                "an archive bomb? a git pack whose {name} claims {size} bytes, more than the {room} \
                 left of the {} bytes an archive may expand to; not inspected",
                self.budget.borrow().limits.expanded
            )
        }
    }
}

/// An OFS_DELTA's distance back to its base, and where its stream starts.
fn base_distance(pack: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut byte = *pack.get(at)?;
    at += 1;
    let mut distance = usize::from(byte & 0x7F);
    while byte & 0x80 != 0 {
        byte = *pack.get(at)?;
        at += 1;
        distance = distance.checked_add(1)?.checked_mul(128)? | usize::from(byte & 0x7F);
    }
    Some((distance, at))
}

/// Inflates the zlib stream at the start of `input`, which must hold exactly `size` bytes (the
/// entry's header says so); with how many bytes of `input` the stream took.
fn inflate(input: &[u8], size: u64) -> Result<(Vec<u8>, usize), &'static str> {
    let size = usize::try_from(size).map_err(|_| "is larger than memory")?;
    let mut inflater = flate2::Decompress::new(true);
    // The header's size is a claim: memory grows with what the stream really holds.
    let mut out = Vec::with_capacity(size.min(input.len().saturating_mul(4)).saturating_add(1));
    loop {
        if out.len() == out.capacity() {
            // Doubling, but never past one byte more than the header says (that byte tells a
            // stream longer than its header).
            out.reserve(out.len().max(4096).min(size + 1 - out.len()));
        }
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        let rest = &input[before_in as usize..];
        let status = inflater
            .decompress_vec(rest, &mut out, flate2::FlushDecompress::None)
            .map_err(|_| "is not a readable zlib stream")?;
        if out.len() > size {
            return Err("inflates to more than its header says");
        }
        if status == flate2::Status::StreamEnd {
            break;
        }
        if inflater.total_in() == before_in && inflater.total_out() == before_out {
            return Err("is cut short");
        }
    }
    if out.len() < size {
        return Err("inflates to less than its header says");
    }
    Ok((out, inflater.total_in() as usize))
}

#[cfg(test)]
mod tests;
