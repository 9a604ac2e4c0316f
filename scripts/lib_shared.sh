# Sourced by the benchmark scripts: sets $shared to the shared data folder
# (vocabulary, golden corpus) — $GOCLIP_SHARED, else the first shared/ found
# walking up from $root, as the tests find it — and $vocab and $corpus in it.
shared=${GOCLIP_SHARED:-}
if [ -z "$shared" ]; then
  d=$root
  while [ "$d" != / ] && [ ! -d "$d/shared/golden" ]; do d=$(dirname "$d"); done
  shared=$d/shared
fi
vocab=$shared/clip/bpe_simple_vocab_16e6.txt.gz
corpus=$shared/golden/tokenizer/tokenize.jsonl
