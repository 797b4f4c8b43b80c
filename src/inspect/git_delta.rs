//! Git's delta format, as a pack stores most objects: the base's size and the target's, then
//! instructions that copy a run of the base or insert up to 127 new bytes. A delta is applied to
//! its base; one whose base is missing still says what it inserts, the text it adds.

pub(super) enum DeltaError {
    /// Its target (this size) is larger than a member may be.
    TooLarge(u64),
    Broken(&'static str),
}

/// A size in a delta: seven bits a byte, least significant first.
fn delta_size(delta: &[u8], at: &mut usize) -> Option<u64> {
    let mut size = 0u64;
    let mut shift = 0;
    loop {
        let byte = *delta.get(*at)?;
        *at += 1;
        if shift > 63 {
            return None;
        }
        size |= u64::from(byte & 0x7F) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            return Some(size);
        }
    }
}

/// One instruction of a delta.
enum Instruction<'d> {
    Copy { offset: usize, len: usize },
    Insert(&'d [u8]),
}

/// The instruction at `at`: a copy from the base (offset and size bytes present as the command's
/// bits say; a size of 0 is 64 KiB) or an insert of 1 to 127 bytes.
fn instruction<'d>(delta: &'d [u8], at: &mut usize) -> Result<Instruction<'d>, &'static str> {
    let command = delta[*at];
    *at += 1;
    if command & 0x80 == 0 {
        if command == 0 {
            return Err("holds a reserved instruction (0)");
        }
        let end = *at + usize::from(command);
        let bytes = delta.get(*at..end).ok_or("is cut short")?;
        *at = end;
        return Ok(Instruction::Insert(bytes));
    }
    let mut field = |bits: std::ops::Range<u32>| -> Result<usize, &'static str> {
        let mut value = 0usize;
        for (n, bit) in bits.enumerate() {
            if command & (1 << bit) != 0 {
                let byte = *delta.get(*at).ok_or("is cut short")?;
                *at += 1;
                value |= usize::from(byte) << (8 * n);
            }
        }
        Ok(value)
    };
    let offset = field(0..4)?;
    let len = match field(4..7)? {
        0 => 0x10000,
        len => len,
    };
    Ok(Instruction::Copy { offset, len })
}

/// The object a delta builds from `base`, refused once its size is past `room`.
pub(super) fn apply(base: &[u8], delta: &[u8], room: u64) -> Result<Vec<u8>, DeltaError> {
    let broken = DeltaError::Broken;
    let mut at = 0;
    let source = delta_size(delta, &mut at).ok_or(broken("is cut short"))?;
    let target = delta_size(delta, &mut at).ok_or(broken("is cut short"))?;
    if source != base.len() as u64 {
        return Err(broken("does not fit its base"));
    }
    if target > room {
        return Err(DeltaError::TooLarge(target));
    }
    let target = target as usize;
    let mut out = Vec::with_capacity(target);
    while at < delta.len() {
        match instruction(delta, &mut at).map_err(broken)? {
            Instruction::Insert(bytes) => out.extend_from_slice(bytes),
            Instruction::Copy { offset, len } => {
                let copied = offset
                    .checked_add(len)
                    .and_then(|end| base.get(offset..end))
                    .ok_or(broken("copies from past its base's end"))?;
                out.extend_from_slice(copied);
            }
        }
        if out.len() > target {
            return Err(broken("builds more than it says"));
        }
    }
    if out.len() != target {
        return Err(broken("builds less than it says"));
    }
    Ok(out)
}

/// What a delta inserts, its runs in order: runs a copy separates are on lines of their own, as
/// they would not stand together in the object.
pub(super) fn inserted(delta: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut at = 0;
    delta_size(delta, &mut at).ok_or("is cut short")?;
    delta_size(delta, &mut at).ok_or("is cut short")?;
    let mut out = Vec::new();
    let mut copied = false;
    while at < delta.len() {
        match instruction(delta, &mut at)? {
            Instruction::Insert(bytes) => {
                if copied && !out.is_empty() {
                    out.push(b'\n');
                }
                copied = false;
                out.extend_from_slice(bytes);
            }
            Instruction::Copy { .. } => copied = true,
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `n` as a delta's variable-length size (seven bits a byte, low first).
    pub(in crate::inspect) fn size(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while n >= 0x80 {
            out.push((n & 0x7F) as u8 | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        out
    }

    #[test]
    fn deltas_copy_and_insert_as_git_writes_them() {
        let base = b"0123456789".repeat(7000);
        // Copy 4 bytes from offset 2 (one offset byte, one size byte), insert "-x-", copy
        // 64 KiB from 0 (a size of 0).
        let delta = [
            size(base.len()),
            size(4 + 3 + 0x10000),
            vec![0x91, 2, 4, 3],
            b"-x-".to_vec(),
            vec![0x80],
        ]
        .concat();
        let target = apply(&base, &delta, 1 << 20).ok().unwrap();
        assert_eq!(&target[..7], b"2345-x-");
        assert_eq!(target[7..], base[..0x10000]);
        assert_eq!(inserted(&delta).unwrap(), b"-x-");
        let past_end = [size(base.len()), size(4), vec![0x91, 0xFF, 4]].concat();
        assert!(matches!(
            apply(&base[..10], &past_end, 1 << 20),
            Err(DeltaError::Broken(_))
        ));
        let reserved = [size(10), size(1), vec![0]].concat();
        assert!(matches!(
            apply(&base[..10], &reserved, 1 << 20),
            Err(DeltaError::Broken(_))
        ));
        let huge = [size(10), size(1 << 40), vec![1, b'a']].concat();
        assert!(matches!(
            apply(&base[..10], &huge, 1 << 20),
            Err(DeltaError::TooLarge(_))
        ));
        let runs = [
            size(10),
            size(9),
            vec![3],
            b"abc".to_vec(),
            vec![0x90, 3],
            vec![3],
            b"def".to_vec(),
        ]
        .concat();
        assert_eq!(inserted(&runs).unwrap(), b"abc\ndef");
    }
}
