"""SQLAlchemy type expressions read statically, spelled the way SQLAlchemy's PostgreSQL dialect
compiles them (`String(255)` -> `VARCHAR(255)`), workspace `TypeDecorator`s resolved to their `impl`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..schema.model import EnumType
from .module_summary import ClassSummary
from .python_names import Expr
from .python_world import World, sa_member

_SIMPLE_TYPES = {
    "Integer": "INTEGER", "INTEGER": "INTEGER", "INT": "INTEGER", "BigInteger": "BIGINT", "BIGINT": "BIGINT",
    "SmallInteger": "SMALLINT", "SMALLINT": "SMALLINT", "Text": "TEXT", "TEXT": "TEXT", "UnicodeText": "TEXT",
    "Boolean": "BOOLEAN", "BOOLEAN": "BOOLEAN", "Date": "DATE", "DATE": "DATE", "JSON": "JSON", "JSONB": "JSONB",
    "Uuid": "UUID", "UUID": "UUID", "LargeBinary": "BYTEA", "BYTEA": "BYTEA", "PickleType": "BYTEA",
    "BLOB": "BYTEA", "Interval": "INTERVAL", "INTERVAL": "INTERVAL", "INET": "INET", "CIDR": "CIDR",
    "MACADDR": "MACADDR", "MACADDR8": "MACADDR8", "MONEY": "MONEY", "TSVECTOR": "TSVECTOR", "TSQUERY": "TSQUERY",
    "HSTORE": "HSTORE", "CITEXT": "CITEXT", "OID": "OID", "REGCLASS": "REGCLASS", "REAL": "REAL",
    "Double": "DOUBLE PRECISION", "DOUBLE_PRECISION": "DOUBLE PRECISION", "DOUBLE": "DOUBLE PRECISION",
    "INT4RANGE": "INT4RANGE", "INT8RANGE": "INT8RANGE", "NUMRANGE": "NUMRANGE", "DATERANGE": "DATERANGE",
    "TSRANGE": "TSRANGE", "TSTZRANGE": "TSTZRANGE", "JSONPATH": "JSONPATH",
}
_STRING_TYPES = {"String": "VARCHAR", "VARCHAR": "VARCHAR", "Unicode": "VARCHAR", "NVARCHAR": "NVARCHAR",
                 "CHAR": "CHAR", "NCHAR": "NCHAR"}
_NUMERIC_TYPES = {"Numeric": "NUMERIC", "NUMERIC": "NUMERIC", "DECIMAL": "NUMERIC"}

# SQLAlchemy's default type map for `Mapped[...]` annotations (sqlalchemy.sql.sqltypes._type_map).
PYTHON_TYPES = {
    "int": "INTEGER", "float": "DOUBLE PRECISION", "bool": "BOOLEAN", "str": "VARCHAR", "bytes": "BYTEA",
    "uuid.UUID": "UUID", "decimal.Decimal": "NUMERIC", "datetime.date": "DATE",
    "datetime.datetime": "TIMESTAMP WITHOUT TIME ZONE", "datetime.time": "TIME WITHOUT TIME ZONE",
    "datetime.timedelta": "INTERVAL",
}


# Column types of libraries that build on SQLAlchemy, as they compile on PostgreSQL (their
# `impl` or `load_dialect_impl`), keyed by (top-level package, class name).
_LIBRARY_TYPES = {
    ("sqlalchemy_utils", "TSVectorType"): "TSVECTOR", ("sqlalchemy_utils", "JSONType"): "JSON",
    ("sqlalchemy_utils", "EncryptedType"): "BYTEA", ("sqlalchemy_utils", "StringEncryptedType"): "VARCHAR",
    ("sqlalchemy_utils", "UUIDType"): "UUID", ("sqlalchemy_utils", "ChoiceType"): "VARCHAR(255)",
    ("sqlalchemy_utils", "EmailType"): "VARCHAR(255)", ("sqlalchemy_utils", "URLType"): "TEXT",
    ("sqlalchemy_utils", "ScalarListType"): "TEXT", ("sqlalchemy_utils", "ArrowType"): "TIMESTAMP WITHOUT TIME ZONE",
    ("sqlalchemy_utils", "TimezoneType"): "VARCHAR(50)", ("sqlalchemy_utils", "CountryType"): "VARCHAR(2)",
    ("sqlalchemy_utils", "CurrencyType"): "VARCHAR(3)", ("sqlalchemy_utils", "LocaleType"): "VARCHAR(10)",
    ("sqlalchemy_utils", "IPAddressType"): "VARCHAR(50)", ("sqlalchemy_utils", "ColorType"): "VARCHAR(20)",
    ("sqlalchemy_utils", "PhoneNumberType"): "VARCHAR(20)", ("sqlalchemy_utils", "LtreeType"): "LTREE",
    ("sqlalchemy_utils", "IntRangeType"): "INT4RANGE", ("sqlalchemy_utils", "DateRangeType"): "DATERANGE",
    ("sqlalchemy_utils", "NumericRangeType"): "NUMRANGE", ("sqlalchemy_utils", "DateTimeRangeType"): "TSRANGE",
    ("sqlalchemy_searchable", "TSVectorType"): "TSVECTOR", ("citext", "CIText"): "CITEXT",
    ("pgvector", "Vector"): "VECTOR", ("pgvector", "VECTOR"): "VECTOR",
    ("geoalchemy2", "Geometry"): "GEOMETRY", ("geoalchemy2", "Geography"): "GEOGRAPHY",
    ("advanced_alchemy", "GUID"): "UUID", ("advanced_alchemy", "DateTimeUTC"): "TIMESTAMP WITH TIME ZONE",
    ("sqlmodel", "UTCDateTime"): "TIMESTAMP WITH TIME ZONE",
    ("advanced_alchemy", "JsonB"): "JSONB", ("advanced_alchemy", "ORA_JSONB"): "JSONB",
    ("advanced_alchemy", "EncryptedString"): "VARCHAR", ("advanced_alchemy", "EncryptedText"): "TEXT",
    ("advanced_alchemy", "PasswordHash"): "VARCHAR", ("advanced_alchemy", "StoredObject"): "JSONB",
    ("advanced_alchemy", "BigIntIdentity"): "BIGINT",
}
# advanced_alchemy's migration template puts its types on SQLAlchemy's module (`sa.GUID = GUID`),
# so revisions call them as `sa.GUID(length=16)`: names SQLAlchemy itself does not have.
PATCHED_ONTO_SQLALCHEMY = {name: text for (library, name), text in _LIBRARY_TYPES.items() if library == "advanced_alchemy"}


def library_type(qualified: Optional[str]) -> Optional[str]:
    """The PostgreSQL type of a column type class from a library that builds on SQLAlchemy."""
    if not qualified:
        return None
    return _LIBRARY_TYPES.get((qualified.split(".")[0], qualified.rpartition(".")[2]))


@dataclass(frozen=True)
class TypeResult:
    text: str  # as SQLAlchemy's postgresql dialect compiles it
    enum: Optional[EnumType] = None


class Types:
    """SQLAlchemy type expressions -> the DDL SQLAlchemy's PostgreSQL dialect would emit."""

    def __init__(self, world: World) -> None:
        self.world = world

    def of_expr(self, expr: Expr, depth: int = 0) -> Optional[TypeResult]:
        if depth > 10:
            return None
        expr = self.world.value_of(expr) if expr.kind == "name" else expr
        if expr.kind not in ("name", "call"):
            return None
        if expr.kind == "call" and (expr.name or "").endswith(".as_mutable") and expr.args:
            return self.of_expr(expr.args[0], depth + 1)  # MutableDict.as_mutable(JSONB) is a JSONB column
        if expr.kind == "call" and expr.func is not None and expr.func.kind == "attribute" \
                and expr.func.value == "with_variant" and expr.func.func is not None and expr.args:
            # `JSON().with_variant(postgresql.JSONB(), "postgresql")` (phoenix): PostgreSQL's variant there
            dialects = [self.world.const(argument) for argument in (*expr.args[1:], *(v for k, v in expr.kwargs if k == "dialect_name"))]
            names = {name for value in dialects for name in (value if isinstance(value, (list, tuple)) else (value,))}
            return self.of_expr(expr.args[0] if "postgresql" in names else expr.func.func, depth + 1)
        qualified = self.world.resolve(expr.name) if expr.name else None
        if qualified in self.world.classes:
            return self._workspace_type(self.world.classes[qualified], expr, depth)
        library = library_type(qualified)
        if library is not None:
            dimensions = self.world.const(expr.args[0]) if library == "VECTOR" and expr.kind == "call" and expr.args else None
            return TypeResult(f"{library}({dimensions})" if isinstance(dimensions, int) else library)
        member = sa_member(qualified)
        if member is None:
            return None
        call = expr if expr.kind == "call" else None
        return self._sa_type(member.split(".")[-1], call, expr, depth)

    def _workspace_type(self, cls: ClassSummary, expr: Expr, depth: int) -> Optional[TypeResult]:
        """A TypeDecorator subclass compiles as its `impl`."""
        impl = cls.attribute("impl")
        if impl is not None and impl.value is not None:
            # TypeDecorator.__init__ hands the keywords on to `impl` (`StringEnum(E, length=16)`), and
            # the positional arguments its subclass's own __init__ does not keep (`EnumAsString(E, 100)`).
            kept = self._positionals_kept(cls)
            handed = expr.args[kept:] if expr.kind == "call" and kept is not None else ()
            if impl.value.kind == "name" and expr.kind == "call" and (expr.kwargs or handed):
                return self.of_expr(Expr("call", impl.value.source, impl.value.location, name=impl.value.name,
                                         args=tuple(handed), kwargs=expr.kwargs, func=impl.value), depth + 1)
            return self.of_expr(impl.value, depth + 1)
        for base in cls.bases:
            if base.kind == "name":
                resolved = self.world.resolve(base.name)
                if resolved in self.world.classes:
                    found = self._workspace_type(self.world.classes[resolved], expr, depth + 1)
                    if found is not None:
                        return found
                elif library_type(resolved) is not None:
                    return TypeResult(library_type(resolved))
                elif sa_member(resolved) not in (None, "TypeDecorator", "UserDefinedType"):
                    return self._sa_type(sa_member(resolved).split(".")[-1], expr if expr.kind == "call" else None, expr, depth)
        return None

    def _positionals_kept(self, cls: ClassSummary, depth: int = 0) -> Optional[int]:
        """How many leading positional arguments of a call of `cls` the `__init__` it runs keeps
        (its own, else its first base's: polar's StringEnum runs EnumType's, which hands none on);
        0 for TypeDecorator's own, which hands them all to `impl`; None when none go there."""
        if cls.defines_init:
            return cls.init_keeps
        base = next((self.world.resolve(base.name) for base in cls.bases if base.kind == "name"), None)
        if base in self.world.classes and depth < 10:
            return self._positionals_kept(self.world.classes[base], depth + 1)
        return 0

    def _arg(self, call: Optional[Expr], position: int, keyword: str):
        if call is None:
            return None
        value = call.kwarg(keyword)
        if value is None and len(call.args) > position and not call.args[position].starred:
            value = call.args[position]
        return value

    def _unread_modifier(self, call: Optional[Expr], *arguments: tuple[int, str]) -> bool:
        """True when a length, precision or scale is written but is not a constant SchemaLens can
        read (`Unicode(lengths.get(name))`): the type is then unknown, not one without a modifier."""
        for position, keyword in arguments:
            value = self.world.value_of(self._arg(call, position, keyword))
            if value is not None and value.kind != "const":
                return True
        return False

    def _sa_type(self, name: str, call: Optional[Expr], expr: Expr, depth: int) -> Optional[TypeResult]:
        world = self.world
        if name in PATCHED_ONTO_SQLALCHEMY:
            return TypeResult(PATCHED_ONTO_SQLALCHEMY[name])
        if name in _STRING_TYPES or name in ("BIT", "Float", "FLOAT"):
            if self._unread_modifier(call, (0, "length" if name not in ("Float", "FLOAT") else "precision")):
                return None
        if name in _NUMERIC_TYPES and self._unread_modifier(call, (0, "precision"), (1, "scale")):
            return None
        if name in _SIMPLE_TYPES:
            return TypeResult(_SIMPLE_TYPES[name])
        if name in _STRING_TYPES:
            length = world.const(self._arg(call, 0, "length"))
            base = _STRING_TYPES[name]
            return TypeResult(f"{base}({length})" if isinstance(length, int) else base)
        if name in _NUMERIC_TYPES:
            precision = world.const(self._arg(call, 0, "precision"))
            scale = world.const(self._arg(call, 1, "scale"))
            if isinstance(precision, int):
                return TypeResult(f"NUMERIC({precision}, {scale})" if isinstance(scale, int) else f"NUMERIC({precision})")
            return TypeResult("NUMERIC")
        if name in ("Float", "FLOAT"):
            precision = world.const(self._arg(call, 0, "precision"))
            return TypeResult(f"FLOAT({precision})" if isinstance(precision, int) else "FLOAT")
        if name in ("DateTime", "TIMESTAMP", "DATETIME", "Time", "TIME"):
            timezone = world.const(self._arg(call, 0, "timezone")) is True
            precision = world.const(call.kwarg("precision")) if call is not None else None
            base = "TIME" if name in ("Time", "TIME") else "TIMESTAMP"
            modifier = f"({precision})" if isinstance(precision, int) and name in ("TIMESTAMP", "TIME") else ""
            return TypeResult(f"{base}{modifier} {'WITH' if timezone else 'WITHOUT'} TIME ZONE")
        if name in ("BIT",):
            length = world.const(self._arg(call, 0, "length"))
            varying = world.const(self._arg(call, 1, "varying")) is True
            base = "BIT VARYING" if varying else "BIT"
            return TypeResult(f"{base}({length})" if isinstance(length, int) else base)
        if name in ("ARRAY",):
            item = self._arg(call, 0, "item_type")
            inner = self.of_expr(item, depth + 1) if item is not None else None
            if inner is None:
                return None
            dimensions = world.const(call.kwarg("dimensions")) if call is not None else None
            suffix = "[]" * (dimensions if isinstance(dimensions, int) and dimensions > 1 else 1)
            return TypeResult(inner.text + suffix, inner.enum)
        if name in ("Enum", "ENUM"):
            return self._enum(call, expr)
        return TypeResult(name.upper())

    def _enum(self, call: Optional[Expr], expr: Expr) -> TypeResult:
        world = self.world
        values: list[str] = []
        name = world.const(call.kwarg("name")) if call is not None else None
        schema = world.const(call.kwarg("schema")) if call is not None else None
        unread_class = False
        for argument in (call.args if call is not None else ()):
            argument = world.value_of(argument)
            if argument.is_str:
                values.append(argument.value)
            elif argument.kind == "name" and world.resolve(argument.name) in world.classes:
                cls = world.classes[world.resolve(argument.name)]
                values += self.enum_values(cls, call)
                if name is None:
                    name = cls.name.lower()
            elif argument.kind == "name" and argument.name.rpartition(".")[2][:1].isupper():
                # a Python enum this file does not define (a revision importing the models' enum):
                # SQLAlchemy names the type after the class; its members are not read here
                unread_class = True
                if name is None:
                    name = argument.name.rpartition(".")[2].lower()
            elif argument.kind == "seq":
                values += [world.const(item) for item in argument.args if isinstance(world.const(item), str)]
        native = world.const(call.kwarg("native_enum")) if call is not None else None
        if unread_class:
            return TypeResult("unknown" if native is False else name)
        if name is None or native is False:
            length = world.const(call.kwarg("length")) if call is not None else None
            if not isinstance(length, int):
                length = max((len(value) for value in values), default=0)
            return TypeResult(f"VARCHAR({length})")
        return TypeResult(name, EnumType(name, tuple(values), expr.location, schema=schema))

    def enum_values(self, cls: ClassSummary, call: Optional[Expr]) -> list[str]:
        """Member names, or member values when `values_callable` reads `.value`."""
        by_value = call is not None and call.kwarg("values_callable") is not None and ".value" in call.kwarg("values_callable").source
        values = []
        for attribute in cls.attributes:
            if attribute.name.startswith("_") or attribute.declared_attr or attribute.value is None:
                continue
            if by_value:
                value = self.world.const(attribute.value)
                if isinstance(value, str):
                    values.append(value)
            else:
                values.append(attribute.name)
        return values

    def python_enum(self, qualified: Optional[str]) -> Optional[ClassSummary]:
        """The workspace class when `qualified` names a subclass of enum.Enum."""
        seen = 0
        while qualified in self.world.classes and seen < 10:
            cls = self.world.classes[qualified]
            for base in cls.bases:
                resolved = self.world.resolve(base.name) if base.kind == "name" else None
                if resolved and resolved.split(".")[0] == "enum":
                    return cls
            bases = [self.world.resolve(b.name) for b in cls.bases if b.kind == "name"]
            qualified, seen = (bases[0] if bases else None), seen + 1
        return None


