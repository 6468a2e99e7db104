#ifndef SAMROM_CSODIUM_SHIM_H
#define SAMROM_CSODIUM_SHIM_H
#include <sodium.h>
#endif
