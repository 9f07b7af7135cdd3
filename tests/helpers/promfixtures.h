/* promfixtures.h: the frame of a Prometheus range query's answer
 * (/api/v1/query_range: a matrix), around the series a test writes, for the
 * tests that play Prometheus (test_promquery.c: answers and their hostile
 * forms; test_engine.c: a Prometheus in front of the fake fleet). */
#ifndef RAMP_TESTS_PROMFIXTURES_H
#define RAMP_TESTS_PROMFIXTURES_H

#define PROM_OK_HEAD "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
#define PROM_OK_TAIL "]}}"

#endif
