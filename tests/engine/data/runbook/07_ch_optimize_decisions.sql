OPTIMIZE TABLE viewbot.decisions FINAL
