/* version.h: Haven's version, for programs that embed or talk to it. */
#ifndef HAVEN_VERSION_H
#define HAVEN_VERSION_H

#define HAVEN_VERSION "0.1.0"
#define HAVEN_API_VERSION "v1"

#endif
