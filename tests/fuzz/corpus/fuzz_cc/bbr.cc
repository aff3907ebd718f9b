# bbr.cc - a BBR-like pacing algorithm in the safebpf congestion-control
# DSL: it estimates the bottleneck bandwidth (max delivery rate over about
# ten round trips) and the minimum RTT, paces at gain x bandwidth and caps
# the window at two bandwidth-delay products. Modes: startup (gain 2.885
# until the bandwidth stops growing by 25% for three rounds), drain, then
# probe_bw's eight-phase cycle (1.25, 0.75, then 1 for six phases).
algorithm sbpf_bbr

state bw = 0               # max delivery rate in the current filter window (bytes/s)
state bw_prev = 0          # max of the previous window
state btl = 0              # bottleneck estimate: the larger of the two
state win_start = 0        # start of the filter window (us)
state mode = 0             # 0 startup, 1 drain, 2 probe_bw
state full_bw = 0          # startup: bandwidth at the last 25% growth
state full_cnt = 0         # startup: rounds without that growth
state round_start = 0
state phase = 0            # probe_bw phase, 0..7
state gain = 2885          # pacing gain in thousandths
state bdp = 8              # bandwidth-delay product (packets)
state sample = 0           # this ACK's usable delivery rate

fold {
    # an app-limited sample, one over fewer than 8 packets or less than a quarter
    # round trip (a burst of ACKs) says nothing about the path; one sample raises
    # the estimate by at most a quarter (plus 1 MB/s)
    sample = min(rate * (app_limited == 0) * (delivered >= 8) * (interval * 4 >= srtt),
                 btl * 5 / 4 + 1000000)
    bw = max(bw, sample)
    btl = max(bw, bw_prev)
    # bandwidth-delay product over the minimum RTT, at least 8 packets
    bdp = max(btl * min_rtt / 1000000 / max(mss, 1), 8)
}

when now - win_start > 10 * max(srtt, 1) {
    bw_prev = bw
    bw = sample
    win_start = now
}

when now - round_start >= max(min_rtt, 1) {
    round_start = now
    when mode == 0 {
        when btl >= full_bw * 5 / 4 {
            full_bw = btl
            full_cnt = 0
        } else {
            full_cnt = full_cnt + 1
        }
        when full_cnt >= 3 {
            mode = 1
            gain = 347
        }
    } else when mode == 1 {
        when inflight <= bdp {
            mode = 2
            phase = 0
            gain = 1250
        }
    } else {
        phase = (phase + 1) % 8
        gain = 1000 + 250 * (phase == 0) - 250 * (phase == 1)
        when phase == 0 {
            report
        }
    }
}

when 1 {
    set rate = btl * gain / 1000
    set cwnd = 2 * bdp + 4 * (mode == 0) * bdp
}
