"""The schema model: what the ORM declares and what the migrations build, with source locations."""
