//! A record's JSON text, written straight from the borrowed record: serde's data model as compact JSON, byte for byte what `serde_json::to_writer` writes, with strings scanned for escapes eight bytes at a time.
//!
//! Why not serde_json itself: a host's record is about 14 KB, most of it server text in the
//! dialogue and the transcript, and serde_json looks at each byte of a string on its own
//! and hands each piece to its writer through `io::Write`; that was 29% of the scanner's
//! instructions per host (callgrind, 300 `closed` hosts, JSONL and JSON written). Here a
//! string is checked a word at a time for the three kinds of byte JSON must escape (`"`,
//! `\` and controls below 0x20), and the text goes into a `Vec` directly. The JSON is the
//! same (a test holds every record of the test data and every byte value against
//! serde_json), so every reader, old and new, reads it unchanged.

use std::fmt;

use serde::ser::{self, Serialize};

/// Appends the compact JSON of `value` to `out`; the same bytes as
/// `serde_json::to_writer(&mut out, value)`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    value.serialize(&mut Writer { out })
}

/// serde's data model written as JSON into a `Vec`.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

/// Bytes of a word (8 bytes) repeated: `LO * b` has `b` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes of `w` is a control (< 0x20), `"` or `\`: the bytes JSON
/// escapes (serde_json leaves DEL and everything from 0x80 as it is). Each test is the
/// classic "has a byte less than n" (`(w - n·LO) & !w & HI`, exact for n ≤ 0x80), the
/// equality ones applied to `w` xor the byte, where the byte itself becomes zero.
fn word_needs_escape(w: u64) -> bool {
    let control = w.wrapping_sub(LO * 0x20) & !w;
    let q = w ^ (LO * u64::from(b'"'));
    let quote = q.wrapping_sub(LO) & !q;
    let b = w ^ (LO * u64::from(b'\\'));
    let backslash = b.wrapping_sub(LO) & !b;
    (control | quote | backslash) & HI != 0
}

/// The escape of one byte as serde_json writes it, or `None` when it stands as it is.
const fn escape_of(byte: u8) -> Option<Escape> {
    Some(match byte {
        b'"' => Escape::Short(b'"'),
        b'\\' => Escape::Short(b'\\'),
        0x08 => Escape::Short(b'b'),
        0x0c => Escape::Short(b'f'),
        b'\n' => Escape::Short(b'n'),
        b'\r' => Escape::Short(b'r'),
        b'\t' => Escape::Short(b't'),
        0x00..=0x1f => Escape::Unicode(byte),
        _ => return None,
    })
}

/// [`escape_of`] as a table, for the bytes after the last whole word of a string.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = escape_of(byte as u8).is_some();
        byte += 1;
    }
    table
};

enum Escape {
    /// `\` and this letter.
    Short(u8),
    /// `\u00XX`, lowercase hex.
    Unicode(u8),
}

/// Whether any byte of `bytes` must be escaped: eight bytes at a time, then the rest
/// one by one. Nearly every string of a record needs none.
fn needs_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        if word_needs_escape(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) {
            return true;
        }
    }
    words.remainder().iter().any(|&b| ESCAPED[usize::from(b)])
}

/// The contents of a JSON string (no quotes): copied whole when nothing needs escaping,
/// else runs without escapes copied whole between the escapes.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut copied = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let Some(escape) = escape_of(byte) else {
            continue;
        };
        out.extend_from_slice(&bytes[copied..i]);
        match escape {
            Escape::Short(letter) => out.extend_from_slice(&[b'\\', letter]),
            Escape::Unicode(b) => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        copied = i + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

fn write_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `collect_str`'s pieces, escaped as they come, as serde_json does.
struct EscapeAdapter<'a> {
    out: &'a mut Vec<u8>,
}

impl fmt::Write for EscapeAdapter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.out, s);
        Ok(())
    }
}

/// An array, object or enum variant being written: whether an element came yet (for the
/// commas), and how it closes. One byte at a time: a push is inlined, a slice copy is a
/// call to memcpy.
struct Compound<'a, 'b> {
    w: &'b mut Writer<'a>,
    first: bool,
    /// `]` or `}`.
    close: u8,
    /// A variant's content (`{"name":[...]}`): one more `}` after `close`.
    in_variant: bool,
}

impl<'a, 'b> Compound<'a, 'b> {
    fn open(w: &'b mut Writer<'a>, open: u8, close: u8) -> Self {
        w.out.push(open);
        Compound {
            w,
            first: true,
            close,
            in_variant: false,
        }
    }

    /// A variant with content: `{"name":` and `open`.
    fn variant(w: &'b mut Writer<'a>, name: &str, open: u8, close: u8) -> Self {
        w.out.push(b'{');
        write_str(w.out, name);
        w.out.push(b':');
        Compound {
            in_variant: true,
            ..Compound::open(w, open, close)
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.comma();
        value.serialize(&mut *self.w)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> serde_json::Result<()> {
        self.comma();
        write_str(self.w.out, key);
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }

    fn close(self) -> serde_json::Result<()> {
        self.w.out.push(self.close);
        if self.in_variant {
            self.w.out.push(b'}');
        }
        Ok(())
    }
}

/// `serialize_i8` ... `serialize_u128`: every integer as its decimal digits.
macro_rules! integers {
    ($($method:ident: $ty:ty),+) => {$(
        fn $method(self, v: $ty) -> serde_json::Result<()> {
            write_int(self.out, v);
            Ok(())
        }
    )+};
}

impl<'a, 'b> ser::Serializer for &'b mut Writer<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Compound<'a, 'b>;
    type SerializeTupleVariant = Compound<'a, 'b>;
    type SerializeMap = Compound<'a, 'b>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Compound<'a, 'b>;

    fn serialize_bool(self, v: bool) -> serde_json::Result<()> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_i128: i128,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64,
        serialize_u128: u128
    );
    // Floats are rare in a record (none today): serde_json writes them, so that its
    // shortest round-trip form and its `null` for NaN and infinities hold here too.
    fn serialize_f32(self, v: f32) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *self.out, &v)
    }
    fn serialize_f64(self, v: f64) -> serde_json::Result<()> {
        serde_json::to_writer(&mut *self.out, &v)
    }
    fn serialize_char(self, v: char) -> serde_json::Result<()> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> serde_json::Result<()> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> serde_json::Result<()> {
        let mut seq = Compound::open(self, b'[', b']');
        for b in v {
            seq.element(b)?;
        }
        seq.close()
    }
    fn serialize_none(self) -> serde_json::Result<()> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> serde_json::Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> serde_json::Result<()> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> serde_json::Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> serde_json::Result<()> {
        let mut object = Compound::open(self, b'{', b'}');
        object.field(variant, value)?;
        object.close()
    }
    fn serialize_seq(self, _len: Option<usize>) -> serde_json::Result<Self::SerializeSeq> {
        Ok(Compound::open(self, b'[', b']'))
    }
    fn serialize_tuple(self, _len: usize) -> serde_json::Result<Self::SerializeTuple> {
        Ok(Compound::open(self, b'[', b']'))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeTupleStruct> {
        Ok(Compound::open(self, b'[', b']'))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeTupleVariant> {
        Ok(Compound::variant(self, variant, b'[', b']'))
    }
    fn serialize_map(self, _len: Option<usize>) -> serde_json::Result<Self::SerializeMap> {
        Ok(Compound::open(self, b'{', b'}'))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeStruct> {
        Ok(Compound::open(self, b'{', b'}'))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> serde_json::Result<Self::SerializeStructVariant> {
        Ok(Compound::variant(self, variant, b'{', b'}'))
    }
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> serde_json::Result<()> {
        self.out.push(b'"');
        fmt::write(
            &mut EscapeAdapter { out: self.out },
            format_args!("{value}"),
        )
        .map_err(|_| ser::Error::custom("a Display implementation returned an error"))?;
        self.out.push(b'"');
        Ok(())
    }
}

/// The compound traits whose elements are values alone (arrays): each after a comma.
macro_rules! element_wise {
    ($($trait:ident :: $method:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
                self.element(value)
            }
            fn end(self) -> serde_json::Result<()> {
                self.close()
            }
        }
    )+};
}

element_wise!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The compound traits whose elements are named fields (objects): `"key":value`.
macro_rules! field_wise {
    ($($trait:ident),+) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = serde_json::Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> serde_json::Result<()> {
                self.field(key, value)
            }
            fn end(self) -> serde_json::Result<()> {
                self.close()
            }
        }
    )+};
}

field_wise!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = serde_json::Error;
    /// A key is written as serde_json writes one: a string as it is, anything else
    /// serde_json accepts as a key (a number, a bool, a char...) by serde_json itself.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> serde_json::Result<()> {
        self.comma();
        let text = serde_json::to_string(&KeyOnly(key))?;
        // `{"key":null}` less its braces and `:null`: the key as serde_json writes it.
        let key_text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix(":null}"))
            .ok_or_else(|| ser::Error::custom("a map key serde_json cannot write"))?;
        self.w.out.extend_from_slice(key_text.as_bytes());
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> serde_json::Result<()> {
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> serde_json::Result<()> {
        self.close()
    }
}

/// A map of one entry, `key` to `null`, for serde_json to write the key of.
struct KeyOnly<'a, T: ?Sized>(&'a T);

impl<T: Serialize + ?Sized> Serialize for KeyOnly<'_, T> {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.0, &())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;
    use crate::report::ScanRecord;
    use crate::report::testdata;

    fn ours<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = Vec::new();
        write(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn same_as_serde_json<T: Serialize + ?Sized + fmt::Debug>(value: &T) {
        let theirs = serde_json::to_string(value).unwrap();
        assert_eq!(ours(value), theirs, "{value:?}");
    }

    #[test]
    fn every_record_of_the_test_data_is_serde_json_s_text() {
        let mut outcomes = vec![testdata::open_relay_outcome(), testdata::refused_outcome()];
        // Server text with every control, quotes, backslashes and non-ASCII in the
        // dialogue and the transcript.
        let mut hostile = testdata::open_relay_outcome();
        let nasty: String = (0u8..0x80).map(char::from).collect::<String>() + "\u{85}\u{202e}é\"\\";
        hostile.server_name = Some(nasty.clone());
        hostile.error = Some(nasty.repeat(3));
        if let Some(g) = hostile.dialogue.greeting.as_mut() {
            g.lines.push(nasty.clone());
        }
        outcomes.push(hostile);
        for o in outcomes {
            let r = ScanRecord::of_outcome(o);
            assert_eq!(ours(&r), serde_json::to_string(&r).unwrap());
        }
    }

    #[test]
    fn every_byte_at_every_place_in_a_word_is_escaped_as_serde_json_does() {
        for c in (0u32..0x100).chain([0x2028, 0x202e, 0x1f600]) {
            let c = char::from_u32(c).unwrap();
            for before in 0..17 {
                for after in [0, 1, 7, 8, 9] {
                    let s = format!("{}{c}{}", "a".repeat(before), "b".repeat(after));
                    same_as_serde_json(&s);
                }
            }
        }
        same_as_serde_json("");
        same_as_serde_json("\"\"\\\\\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}");
    }

    #[test]
    fn a_word_needs_escape_exactly_when_one_of_its_bytes_does() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut word = *b"abcdefgh";
                word[at] = b;
                let w = u64::from_le_bytes(word);
                assert_eq!(
                    word_needs_escape(w),
                    escape_of(b).is_some(),
                    "byte {b:#04x} at {at}"
                );
            }
        }
    }

    #[derive(Debug, Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { a: Option<u8>, b: Vec<u8> },
    }

    #[derive(Debug, Serialize)]
    struct Unit;

    #[derive(Debug, Serialize)]
    struct Wrapper(String);

    #[derive(Debug, Serialize)]
    struct Pair(u8, bool);

    #[derive(Debug, Serialize)]
    struct Everything {
        shapes: Vec<Shape>,
        unit: Unit,
        wrapper: Wrapper,
        pair: Pair,
        tuple: (u8, char, ()),
        #[serde(with = "serde_bytes_like")]
        bytes: Vec<u8>,
        wide: (i128, u128, i64, u64, i8, i16),
        floats: (f64, f64, f32, f64),
        by_name: BTreeMap<String, Option<u32>>,
        by_number: BTreeMap<u16, &'static str>,
        empty: (Vec<u8>, BTreeMap<String, u8>),
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        time: chrono::DateTime<chrono::Utc>,
        ip: std::net::IpAddr,
    }

    /// Bytes through `serialize_bytes`, as serde_bytes would.
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn the_whole_data_model_is_serde_json_s() {
        let value = Everything {
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-3, "t\"".into()),
                Shape::Struct {
                    a: None,
                    b: vec![1, 2],
                },
            ],
            unit: Unit,
            wrapper: Wrapper("w\n".into()),
            pair: Pair(1, false),
            tuple: (0, '\u{1}', ()),
            bytes: vec![0, 255],
            wide: (i128::MIN, u128::MAX, i64::MIN, u64::MAX, -1, 300),
            floats: (0.1, f64::NAN, 1.5, 1e300),
            by_name: [("k\"".to_string(), Some(1)), ("z".to_string(), None)].into(),
            by_number: [(25, "smtp"), (587, "submission")].into(),
            empty: (vec![], BTreeMap::new()),
            skipped: None,
            time: chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            ip: "2001:db8::25".parse().unwrap(),
        };
        same_as_serde_json(&value);
    }
}
