package ivr
