#ifndef SAMROM_CQRENCODE_SHIM_H
#define SAMROM_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
