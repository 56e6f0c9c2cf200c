#include "services/lead_acquisition/app.h"

int main(int argc, char** argv) { return sales::lead_acquisition::RunService(argc, argv); }
