"""Fault injection: each module causes one fault with real processes (a `chaintrack server`
process, damaged SQLite files, SIGKILLed children, a stopped PostgreSQL) and checks what the
user sees."""
