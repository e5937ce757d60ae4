-- Database of Viewbot Guard. Every statement in this directory is idempotent: `vbg-engine migrate`
-- applies the files in name order and records each one (name + checksum) in
-- viewbot.schema_migrations, so a second run changes nothing.
CREATE DATABASE IF NOT EXISTS viewbot;
