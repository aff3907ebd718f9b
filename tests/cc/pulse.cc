# pulse.cc - Figure 2a of "Kernel Extension DSLs Should Be Verifier-Safe!":
# BBR's pulse as a CCP datapath program, here in safebpf's syntax. A fold
# keeps the minimum RTT (Report.minrtt, initially +infinity) and the
# bottleneck rate; the pulse paces at 1.25x the bottleneck rate for one
# minimum RTT, at 0.75x for the next, then at 1x for six more, reports,
# and starts over.
algorithm bbr_pulse

state minrtt = 0xffffffff
state bottle_rate = 0
state pulse_state = 0
state pulse_start = 0

fold {
    minrtt = min(minrtt, min_rtt)
    bottle_rate = max(bottle_rate, rate)
}

when pulse_state == 0 && now - pulse_start > 0 {
    set rate = bottle_rate * 5 / 4
    pulse_state = 1
}
when pulse_state == 1 && now - pulse_start > minrtt {
    set rate = bottle_rate * 3 / 4
    pulse_state = 2
}
when pulse_state == 2 && now - pulse_start > 2 * minrtt {
    set rate = bottle_rate
}
when pulse_state == 2 && now - pulse_start > 8 * minrtt {
    report
    pulse_state = 0
    pulse_start = now
}
