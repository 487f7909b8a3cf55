#!/usr/bin/env bash
# The simulator serves operators that span several hosts (ERCOT) or share a path prefix
# (AESO and IESO under /public/) at their real paths: only the base URL differs from production.
. "$(dirname "$0")/lib.sh"
export AURUM_NOW=2026-11-20T12:00:00Z
start_sim
n=$(AURUM_IESO_BASE=$SIM/public "$AURUM" extract ieso.lmp_da_hourly --start 2026-11-18 --end 2026-11-19 2>/dev/null | tail -n +2 | wc -l)
check_ne "IESO at /public/<Report>/... returns rows" "$n" 0
n=$(AURUM_AESO_BASE=$SIM AESO_API_KEY=k "$AURUM" extract aeso.pool_price --start 2026-11-18 --end 2026-11-19 2>/dev/null | tail -n +2 | wc -l)
check_eq "AESO at /public/poolprice-api/... (24 hours)" "$n" 24
n=$(AURUM_ERCOT_BASE=$SIM/api/public-reports \
    AURUM_ERCOT_TOKEN_URL=$SIM/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token \
    ERCOT_API_KEY=k ERCOT_API_USERNAME=u ERCOT_API_PASSWORD=p \
    "$AURUM" extract ercot.spp_da_hourly --start 2026-11-18 --end 2026-11-19 --opt rate_limit=0 2>/dev/null | tail -n +2 | wc -l)
check_ne "ERCOT API + B2C token at their real paths" "$n" 0
n=$(AURUM_ERCOT_MIS_BASE=$SIM "$AURUM" extract ercot.load_actual_weather_zone --start 2026-11-18 --end 2026-11-19 \
    --opt mode=mis --opt rate_limit=0 2>/dev/null | tail -n +2 | wc -l)
check_eq "ERCOT MIS at /misapp and /misdownload (24 h x 9 zones)" "$n" 216
stats=$(sim_get /_sim/stats)
check_contains "requests are counted under one operator name" "$stats" '"ercot": 6'
t_done
