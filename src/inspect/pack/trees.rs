//! A pack's trees name its blobs. A blob is inspected under each path a tree of the pack gives
//! it (`pack-1.pack!/blob-<id>/home/.bash_history`), so the file-name rules see a shell history
//! or a key store inside a packed repository as they would in a checkout, and a finding says
//! where the file sat. A blob no tree of the pack names (a thin or partial pack) keeps its id
//! alone.

use std::collections::{HashMap, HashSet};

/// The most tree entries walked to name a pack's blobs. Trees share subtrees, so a small pack
/// can name a subtree under exponentially many paths: past this the pack is a bomb.
pub(super) const MAX_WALKED: usize = 200_000;

/// The trees read from a pack so far, in the order they were read.
#[derive(Default)]
pub(super) struct Trees {
    order: Vec<Vec<u8>>,
    entries: HashMap<Vec<u8>, Vec<TreeEntry>>,
}

struct TreeEntry {
    name: String,
    id: Vec<u8>,
    is_tree: bool,
}

/// The paths each blob sits at, by its id.
pub(super) type BlobPaths = HashMap<Vec<u8>, Vec<String>>;

impl Trees {
    /// Keeps the tree `id` whose bytes are `tree`: its subtrees and blobs (a submodule's commit
    /// is neither). A malformed tree names nothing; its bytes are still searched as a member.
    pub(super) fn add(&mut self, id: &[u8], tree: &[u8], id_len: usize) {
        let Some(entries) = parse(tree, id_len) else {
            return;
        };
        if self.entries.insert(id.to_vec(), entries).is_none() {
            self.order.push(id.to_vec());
        }
    }

    /// The paths each blob sits at, from every tree no other tree holds (a commit's root, or a
    /// tree whose parent the pack lacks), each path once, in the order the trees were read.
    pub(super) fn blob_paths(&self) -> Result<BlobPaths, String> {
        let held: HashSet<&[u8]> = (self.entries.values().flatten())
            .filter(|entry| entry.is_tree)
            .map(|entry| entry.id.as_slice())
            .collect();
        let mut paths = BlobPaths::new();
        let mut named: HashSet<(&[u8], String)> = HashSet::new();
        // A subtree met again under the same path (every commit holds its unchanged folders)
        // is walked once.
        let mut walked_trees: HashSet<(&[u8], String)> = HashSet::new();
        let mut walked = 0;
        for root in self.order.iter().filter(|id| !held.contains(id.as_slice())) {
            let mut stack = vec![(root.as_slice(), String::new())];
            while let Some((tree, prefix)) = stack.pop() {
                let Some(entries) = self.entries.get(tree) else {
                    continue; // A subtree the pack lacks.
                };
                if !walked_trees.insert((tree, prefix.clone())) {
                    continue;
                }
                for entry in entries.iter().rev() {
                    walked += 1;
                    if walked > MAX_WALKED {
                        return Err(format!(
                            "an archive bomb? a git pack whose trees name more than {MAX_WALKED} paths; not inspected"
                        ));
                    }
                    let path = if prefix.is_empty() {
                        entry.name.clone()
                    } else {
                        format!("{prefix}/{}", entry.name)
                    };
                    if entry.is_tree {
                        stack.push((&entry.id, path));
                    } else if named.insert((&entry.id, path.clone())) {
                        paths.entry(entry.id.clone()).or_default().push(path);
                    }
                }
            }
        }
        Ok(paths)
    }
}

/// A tree's entries; None when it is not a well-formed tree.
fn parse(tree: &[u8], id_len: usize) -> Option<Vec<TreeEntry>> {
    let mut entries = Vec::new();
    let mut rest = tree;
    while !rest.is_empty() {
        let end = memchr::memchr(0, rest)?;
        let (mode, name) = rest[..end].split_at(memchr::memchr(b' ', &rest[..end])?);
        let id = rest.get(end + 1..end + 1 + id_len)?;
        let name = String::from_utf8_lossy(&name[1..]).into_owned();
        // 40000 a folder, 100644 and 100755 a file, 120000 a symbolic link (a blob holding its
        // target), 160000 a submodule's commit (not in this repository's objects).
        match mode {
            b"40000" | b"040000" => entries.push(TreeEntry {
                name,
                id: id.to_vec(),
                is_tree: true,
            }),
            b"160000" => {}
            _ => entries.push(TreeEntry {
                name,
                id: id.to_vec(),
                is_tree: false,
            }),
        }
        rest = &rest[end + 1 + id_len..];
    }
    Some(entries)
}

/// A tree's entries, `<mode> <name>` a line; None when it is not a well-formed tree.
pub(super) fn listing(tree: &[u8], id_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(tree.len());
    let mut rest = tree;
    while !rest.is_empty() {
        let end = memchr::memchr(0, rest)?;
        if !rest[..end].contains(&b' ') {
            return None;
        }
        out.extend_from_slice(&rest[..end]);
        out.push(b'\n');
        rest = rest.get(end + 1 + id_len..)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str, u8)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (mode, name, id) in entries {
            out.extend_from_slice(format!("{mode} {name}\0").as_bytes());
            out.extend_from_slice(&[*id; 20]);
        }
        out
    }

    #[test]
    fn blobs_are_named_by_every_path_the_trees_give_them() {
        let mut trees = Trees::default();
        // Two commits' roots share the folder `home` (tree 2); the second renames a file.
        trees.add(
            &[1; 20],
            &tree(&[("40000", "home", 2), ("100644", "a.txt", 10)]),
            20,
        );
        trees.add(
            &[2; 20],
            &tree(&[("100600", ".bash_history", 11), ("160000", "sub", 12)]),
            20,
        );
        trees.add(
            &[3; 20],
            &tree(&[("40000", "home", 2), ("100755", "b.txt", 10)]),
            20,
        );
        trees.add(&[4; 20], b"not a tree", 20);
        let paths = trees.blob_paths().unwrap();
        assert_eq!(paths[&vec![10; 20]], ["a.txt", "b.txt"]);
        assert_eq!(paths[&vec![11; 20]], ["home/.bash_history"]);
        assert!(!paths.contains_key(&vec![12; 20]), "a submodule is no blob");
        assert_eq!(paths.len(), 2);
    }

    #[test]
    fn trees_that_name_a_subtree_exponentially_often_are_a_bomb() {
        let mut trees = Trees::default();
        // Tree n holds tree n+1 twice: 2^40 paths from a few hundred bytes.
        for level in 1..=40u8 {
            trees.add(
                &[level; 20],
                &tree(&[("40000", "a", level + 1), ("40000", "b", level + 1)]),
                20,
            );
        }
        trees.add(&[41; 20], &tree(&[("100644", "leaf", 99)]), 20);
        let err = trees.blob_paths().unwrap_err();
        assert!(err.contains("more than 200000 paths"), "{err}");
    }
}
