//! The data model of the conformance table and the macros that fill it.
//! Every number on the Rust side is computed by the compiler
//! (`size_of`, `align_of`, `offset_of!`), never typed in by hand.

/// How a table field is found on the C side.
#[derive(Clone, Debug)]
pub enum CField {
    /// `offsetof(T, path)` and `sizeof(((T *)0)->path)`.
    Path(String),
    /// A flexible array member: only `offsetof(T, path)`; the Rust field
    /// must be zero-sized.
    Flex(String),
    /// Explicit Rust padding where C has implicit padding: nothing to ask C.
    Pad,
    /// A Rust field spanning the whole C type (the storage of a C union):
    /// offset 0 and `sizeof(T)`.
    Whole,
}

/// One field check.
#[derive(Clone, Debug)]
pub struct Field {
    /// The C side.
    pub c: CField,
    /// The Rust side as written in the table (a field path or a note).
    pub rust: String,
    /// Rust offset in bytes.
    pub offset: usize,
    /// Rust size in bytes.
    pub size: usize,
    /// Whether this entry is a top-level Rust field (its storage), as
    /// opposed to a view (a nested path, a union member, a narrower type).
    pub storage: bool,
}

/// One struct check.
#[derive(Clone, Debug)]
pub struct Struct {
    /// Rust type name.
    pub rust: &'static str,
    /// C type (a type name or `PVABI_TYPE_OF(base, member)`).
    pub c: &'static str,
    /// C expression for the size, if not `sizeof(c)`.
    pub c_size: Option<&'static str>,
    /// C expression for the alignment, if not `_Alignof(c)`.
    pub c_align: Option<&'static str>,
    /// Rust size.
    pub size: usize,
    /// Rust alignment.
    pub align: usize,
    /// The fields.
    pub fields: Vec<Field>,
}

/// A constant's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer (any width and signedness).
    Int(i128),
    /// A string.
    Str(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) if *v < 0 || *v < 10 => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v} ({v:#x})"),
            Value::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// Conversion of a Rust constant to a [`Value`].
pub trait IntoValue {
    /// The value.
    fn into_value(self) -> Value;
}
macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(self as i128)
            }
        }
    )*};
}
int_value!(u8, u16, u32, u64, usize, i8, i16, i32, i64);
impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Str(self.to_string())
    }
}

/// One constant check.
#[derive(Clone, Debug)]
pub struct Const {
    /// C expression.
    pub c: String,
    /// The Rust expression, for messages.
    pub rust: String,
    /// Rust value.
    pub value: Value,
}

impl Const {
    /// A constant check.
    pub fn new(c: impl Into<String>, rust: impl Into<String>, v: impl IntoValue) -> Self {
        Const { c: c.into(), rust: rust.into(), value: v.into_value() }
    }
}

/// The size of the type a field accessor returns (used on field paths).
pub fn field_size<T, F>(_: fn(&T) -> F) -> usize {
    std::mem::size_of::<F>()
}

/// Appends a struct check to `$v`:
///
/// ```text
/// st!(v, RustType = "C type" { fields });
/// st!(v, RustType = "C type" size "C size expr" { fields });
/// st!(v, RustType = "C type" size "C size expr" align "C align expr" { fields });
/// ```
///
/// Fields, comma separated:
/// - `name`: same name in C and Rust;
/// - `name (pad)`: Rust-only padding where C pads implicitly;
/// - `name (whole)`: union storage spanning the whole C type;
/// - `name (flex)`: flexible array member (offset only);
/// - `"c.path" => rust.path`: different names or nested paths;
/// - `"c.path" => rust.path as T`: the C member is the low `size_of::<T>()`
///   bytes of the Rust field (a narrower member of a C union);
/// - `"c.path" => union T`: a C union member read as Rust type `T` from
///   offset 0 of the storage (the accessors' assumption);
/// - `"c.path" @ (offset, size)`: a view at a computed offset and size.
macro_rules! st {
    ($v:ident, $t:ident = $c:literal $(size $cs:literal)? $(align $ca:literal)? { $($body:tt)* }) => {{
        #[allow(unused_mut)]
        let mut fields: Vec<$crate::model::Field> = Vec::new();
        fields!(fields, $t; $($body)*);
        #[allow(unused_mut, unused_assignments)]
        let mut c_size: Option<&'static str> = None;
        $(c_size = Some($cs);)?
        #[allow(unused_mut, unused_assignments)]
        let mut c_align: Option<&'static str> = None;
        $(c_align = Some($ca);)?
        $v.push($crate::model::Struct {
            rust: stringify!($t),
            c: $c,
            c_size,
            c_align,
            size: std::mem::size_of::<$t>(),
            align: std::mem::align_of::<$t>(),
            fields,
        });
    }};
}

/// Field list muncher for [`st!`].
macro_rules! fields {
    ($f:ident, $t:ty; ) => {};
    ($f:ident, $t:ty; $n:ident (pad) $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t, $crate::model::CField::Pad, true; $n));
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $n:ident (whole) $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t, $crate::model::CField::Whole, true; $n));
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $n:ident (flex) $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t,
            $crate::model::CField::Flex(stringify!($n).to_string()), true; $n));
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $c:literal => union $u:ty $(, $($rest:tt)*)?) => {
        $f.push($crate::model::Field {
            c: $crate::model::CField::Path($c.to_string()),
            rust: concat!("union member as ", stringify!($u)).to_string(),
            offset: 0,
            size: std::mem::size_of::<$u>(),
            storage: false,
        });
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $c:literal @ ($off:expr, $size:expr) $(, $($rest:tt)*)?) => {
        $f.push($crate::model::Field {
            c: $crate::model::CField::Path($c.to_string()),
            rust: concat!("@(", stringify!($off), ", ", stringify!($size), ")").to_string(),
            offset: $off,
            size: $size,
            storage: false,
        });
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $c:literal => $($r:ident).+ as $n:ty $(, $($rest:tt)*)?) => {
        $f.push($crate::model::Field {
            c: $crate::model::CField::Path($c.to_string()),
            rust: format!("{} as {}", stringify!($($r).+).replace(' ', ""), stringify!($n)),
            offset: std::mem::offset_of!($t, $($r).+),
            size: std::mem::size_of::<$n>(),
            storage: false,
        });
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $c:literal => $r0:ident $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t,
            $crate::model::CField::Path($c.to_string()), true; $r0));
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $c:literal => $($r:ident).+ $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t,
            $crate::model::CField::Path($c.to_string()), false; $($r).+));
        fields!($f, $t; $($($rest)*)?);
    };
    ($f:ident, $t:ty; $n:ident $(, $($rest:tt)*)?) => {
        $f.push(fields!(@field $t,
            $crate::model::CField::Path(stringify!($n).to_string()), true; $n));
        fields!($f, $t; $($($rest)*)?);
    };
    (@field $t:ty, $c:expr, $storage:expr; $($r:ident).+) => {
        $crate::model::Field {
            c: $c,
            rust: stringify!($($r).+).replace(' ', ""),
            offset: std::mem::offset_of!($t, $($r).+),
            size: $crate::model::field_size::<$t, _>(|s| s.$($r).+),
            storage: $storage,
        }
    };
}

/// Appends constant checks whose C and Rust names are equal:
/// `k!(v, module { NAME, NAME, ... })`, Rust value `module::NAME`.
macro_rules! k {
    ($v:ident, $($m:ident)::+ { $($n:ident),* $(,)? }) => {
        k!(@list $v, ($($m)::+); $($n),*)
    };
    (@list $v:ident, $m:tt; $($n:ident),*) => {
        $($v.push($crate::model::Const::new(
            stringify!($n),
            format!("{}::{}", stringify!$m.replace(' ', ""), stringify!($n)),
            k!(@path $m $n),
        ));)*
    };
    (@path ($($m:ident)::+) $n:ident) => {
        $($m)::+::$n
    };
}

/// Appends one constant check with a C expression and a Rust expression:
/// `kx!(v, "C expression" => rust_expression)`.
macro_rules! kx {
    ($v:ident, $c:expr => $r:expr) => {
        $v.push($crate::model::Const::new($c, stringify!($r).replace(' ', ""), $r))
    };
}

/// What a [`Family`] scans.
#[derive(Clone, Copy, Debug)]
pub enum FamilyKind {
    /// `#define NAME value` lines (not function-like); only names the
    /// compiler sees as defined under our interface version count.
    Define,
    /// Enumerators, one per line.
    Enum,
}

/// A family of C constants that must all be mirrored: every matching name
/// in `header` (optionally only between the lines containing `region.0`
/// and `region.1`) must appear in a C expression of the constant table.
#[derive(Clone, Debug)]
pub struct Family {
    /// Header path under `/usr/include/xen`.
    pub header: &'static str,
    /// Name prefix.
    pub prefix: &'static str,
    /// What to scan.
    pub kind: FamilyKind,
    /// Optional (start, end) line markers.
    pub region: Option<(&'static str, &'static str)>,
    /// Sub-prefixes deliberately not mirrored (with the reason in the table).
    pub except: &'static [&'static str],
}
