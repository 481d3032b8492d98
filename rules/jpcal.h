/*
 * jpcal: the Japanese calendar the deadlines are counted in.
 *
 * National holidays are computed, never looked up: the Act on National Holidays (国民の祝日に
 * 関する法律) as amended over time, from its start on 1948-07-20 through 2099: fixed days, the
 * Happy Monday days, the vernal and autumnal equinoxes by the standard astronomical formula,
 * substitute holidays (振替休日, from 1973-04-12), citizens' holidays (国民の休日, from
 * 1985-12-27), and the one-off days of imperial events and of the 2020-2021 Olympic moves.
 * Closed days of government (行政機関の休日に関する法律 Art. 1) add weekends and Dec 29 - Jan 3.
 *
 * Days are plain day numbers (days since 1970-01-01, negative before), so date arithmetic is
 * integer arithmetic. Everything here is pure: no allocation, no I/O, no global state.
 */
#ifndef MNI_JPCAL_H
#define MNI_JPCAL_H

#include <stdbool.h>
#include <stdint.h>

typedef int32_t jpcal_day;

#define JPCAL_FIRST_YEAR 1948
#define JPCAL_LAST_YEAR 2099

/* Day number of a proleptic Gregorian date. No range check. */
jpcal_day jpcal_from_ymd(int year, int month, int day);
void jpcal_to_ymd(jpcal_day d, int *year, int *month, int *day);
/* 0 = Sunday ... 6 = Saturday. */
int jpcal_weekday(jpcal_day d);
/* Parses "YYYY-MM-DD" (exactly); returns false on any other text or an impossible date. */
bool jpcal_parse(const char *text, jpcal_day *out);
/* Writes "YYYY-MM-DD" and a NUL into out (11 bytes). */
void jpcal_format(jpcal_day d, char out[11]);

/* The holiday's Japanese name as the Cabinet Office list spells it, or NULL when d is not a
 * national holiday (or lies outside JPCAL_FIRST_YEAR..JPCAL_LAST_YEAR). */
const char *jpcal_holiday_name(jpcal_day d);
bool jpcal_is_holiday(jpcal_day d);
/* Closed day of government: Saturday, Sunday, national holiday, or Dec 29 - Jan 3. */
bool jpcal_is_closed(jpcal_day d);
/* d itself when open, else the first following day that is not closed. */
jpcal_day jpcal_next_open(jpcal_day d);

#endif
