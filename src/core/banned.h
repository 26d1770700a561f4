/*
 * banned.h: functions that are easy to misuse are compile errors in Haven code
 * (git's banned.h). Use haven_strlcpy, haven_buf_printf, snprintf, haven_parse_int64.
 */
#ifndef HAVEN_BANNED_H
#define HAVEN_BANNED_H

#define HAVEN_BANNED(func) sorry_##func##_is_banned_in_haven

#undef strcpy
#define strcpy(x, y) HAVEN_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HAVEN_BANNED(strcat)
#undef sprintf
#define sprintf(...) HAVEN_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HAVEN_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) HAVEN_BANNED(strtok)
#undef atoi
#define atoi(x) HAVEN_BANNED(atoi)
#undef atol
#define atol(x) HAVEN_BANNED(atol)
#undef gets
#define gets(x) HAVEN_BANNED(gets)

#endif
